import COpus

/// A libopus call that failed: its result code and libopus's own words for it.
public struct OpusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The libopus result code (`OPUS_BAD_ARG` = -1 … `OPUS_ALLOC_FAIL` = -7).
    public var code: Int
    /// `opus_strerror(code)`.
    public var message: String
    /// What was being done, e.g. `opus_encode`.
    public var operation: String

    init(code: Int32, operation: String) {
        self.code = Int(code)
        self.message = String(cString: opus_strerror(code))
        self.operation = operation
    }

    public var description: String {
        "libopus \(operation) failed: \(message) (\(code))"
    }

    /// Throws when `result` is a libopus error code (negative), else returns it.
    @discardableResult
    static func check(_ result: Int32, _ operation: String) throws(OpusError) -> Int32 {
        if result < 0 { throw OpusError(code: result, operation: operation) }
        return result
    }
}
