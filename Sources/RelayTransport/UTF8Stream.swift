/// Checks UTF-8 piece by piece, so that a text message split over frames (or over lws's reads)
/// fails at its first bad byte, not at its end (RFC 6455 §8.1, Autobahn 6.4 "fail fast").
///
/// Well-formed means Unicode's table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF.
/// A scalar may be split between pieces; `isComplete` says whether the bytes so far end on a
/// scalar boundary (a message must).
public struct UTF8Stream: Sendable, Equatable {
    /// Continuation bytes the current scalar still needs.
    private var pending = 0
    /// The range the next continuation byte must fall in (narrower after E0, ED, F0 and F4).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF
    /// Set for good at the first bad byte.
    public private(set) var isValid = true

    public init() {}

    /// Whether everything so far is well-formed and ends on a scalar boundary.
    public var isComplete: Bool { isValid && pending == 0 }

    /// Takes the next bytes; returns false (and stays false) once a byte is not well-formed.
    @discardableResult
    public mutating func take(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard isValid else { return false }
        for byte in bytes {
            if pending == 0 {
                if byte < 0x80 { continue }
                switch byte {
                case 0xC2...0xDF: pending = 1
                case 0xE0: (pending, lower) = (2, 0xA0)
                case 0xE1...0xEC, 0xEE...0xEF: pending = 2
                case 0xED: (pending, upper) = (2, 0x9F)
                case 0xF0: (pending, lower) = (3, 0x90)
                case 0xF1...0xF3: pending = 3
                case 0xF4: (pending, upper) = (3, 0x8F)
                default:
                    isValid = false
                    return false
                }
            } else {
                guard byte >= lower, byte <= upper else {
                    isValid = false
                    return false
                }
                lower = 0x80
                upper = 0xBF
                pending -= 1
            }
        }
        return true
    }

    /// Starts a new message.
    public mutating func reset() {
        self = UTF8Stream()
    }
}
