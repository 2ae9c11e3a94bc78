/// Reassembles WebSocket messages from the pieces lws delivers, with a size limit, as pure code.
///
/// lws hands over at most its rx buffer at a time and marks the last piece of a message; a
/// fragmented message may end with an empty final piece. A message that is complete in one piece
/// is handed on without a copy.
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
        /// The rest of a message already reported too large.
        case discarding
    }

    public let maxMessageBytes: Int
    public private(set) var message: [UInt8] = []
    private var assembling = false
    private var binary = false
    private var discarding = false

    public init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Takes the next piece. `isFirst` is true for the first piece of a message.
    public mutating func append(_ piece: UnsafeRawBufferPointer, isBinary: Bool, isFinal: Bool) -> Step {
        if discarding {
            if isFinal { discarding = false }
            return .discarding
        }
        if !assembling {
            binary = isBinary
            if isFinal {
                return piece.count > maxMessageBytes ? .tooLarge : .completeInPiece(binary: isBinary)
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
        message.append(contentsOf: piece)
        guard isFinal else { return .partial }
        assembling = false
        return .complete(binary: binary)
    }
}
