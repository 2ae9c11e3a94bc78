/// Reassembles WebSocket messages from the pieces lws delivers, with a size limit and the UTF-8
/// check of text, as pure code.
///
/// lws hands over at most its rx buffer at a time and marks the last piece of a message; a
/// fragmented message may end with an empty final piece. A message that is complete in one piece
/// is handed on without a copy. Text is checked piece by piece (lws's own check is off, see
/// `ServiceLoop.createContext`), so a bad byte fails the message as soon as it arrives.
public struct MessageAssembler {
    public enum Step: Equatable {
        /// More pieces are needed.
        case partial
        /// The message is complete in the assembler's buffer (`message`).
        case complete(binary: Bool)
        /// The message is complete in the piece just given: use it directly.
        case completeInPiece(binary: Bool)
        /// The message went past the limit; it is discarded up to its end. Reported once.
        case tooLarge
        /// The rest of a message already reported too large or not UTF-8.
        case discarding
        /// A text message is not UTF-8: reported at its first bad byte (or at its end when its last
        /// scalar is cut short), once; the rest of it is discarded. RFC 6455 §8.1: fail with 1007.
        case invalidText
    }

    public let maxMessageBytes: Int
    public private(set) var message: [UInt8] = []
    private var assembling = false
    private var binary = false
    private var discarding = false
    private var utf8 = UTF8Stream()

    public init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Takes the next piece; `isFinal` marks the last piece of a message.
    public mutating func append(_ piece: UnsafeRawBufferPointer, isBinary: Bool, isFinal: Bool) -> Step {
        if discarding {
            if isFinal { discarding = false }
            return .discarding
        }
        if !assembling {
            binary = isBinary
            utf8.reset()
            if isFinal {
                if piece.count > maxMessageBytes { return .tooLarge }
                if !isBinary, !utf8.take(piece) || !utf8.isComplete { return .invalidText }
                return .completeInPiece(binary: isBinary)
            }
            assembling = true
            message.removeAll(keepingCapacity: message.capacity <= 1 << 16)
        }
        if message.count + piece.count > maxMessageBytes {
            assembling = false
            message.removeAll(keepingCapacity: false)
            discarding = !isFinal
            return .tooLarge
        }
        if !binary, !utf8.take(piece) || (isFinal && !utf8.isComplete) {
            assembling = false
            message.removeAll(keepingCapacity: false)
            discarding = !isFinal
            return .invalidText
        }
        message.append(contentsOf: piece)
        guard isFinal else { return .partial }
        assembling = false
        return .complete(binary: binary)
    }
}
