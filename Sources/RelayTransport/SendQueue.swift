import DequeModule

/// What kind of frame a queued item is: it decides what may be dropped (PROTOCOL §6).
public enum FrameClass: Sendable, Hashable {
    /// Control frames (ping, close): never dropped.
    case control
    /// JSON messages: never dropped.
    case message
    /// Real-time media (Opus audio, video): the oldest is dropped first when the receiver falls behind.
    case media
}

/// A bounded per-connection outgoing queue with the drop rules of PROTOCOL §6, as pure code.
///
/// - Media is kept within `mediaBudgetBytes`: enqueuing media past it drops this receiver's
///   oldest queued media first (never a message, never anyone else's media).
/// - `backlogBytes` is how far behind the receiver is: what is queued plus the media dropped since
///   the queue was last empty. Past `limitBytes` the verdict is `.overflow` and the caller closes
///   the connection (4408); the device comes back and replays.
public struct SendQueue<Payload> {
    public struct Item {
        public var payload: Payload
        public var frameClass: FrameClass
        public var bytes: Int
    }

    public enum Verdict: Equatable, Sendable {
        case queued
        /// Queued after dropping this many older media frames.
        case queuedDroppingMedia(Int)
        /// The receiver is behind by more than the limit: close it.
        case overflow
    }

    public let limitBytes: Int
    public let mediaBudgetBytes: Int
    public private(set) var queuedBytes = 0
    public private(set) var queuedMediaBytes = 0
    /// Media bytes dropped since the queue was last empty.
    public private(set) var droppedSinceDrainedBytes = 0
    /// Media frames dropped over the queue's life.
    public private(set) var droppedMediaFrames = 0
    private var items: Deque<Item> = []

    public init(limitBytes: Int, mediaBudgetBytes: Int) {
        precondition(limitBytes > 0 && mediaBudgetBytes > 0)
        self.limitBytes = limitBytes
        self.mediaBudgetBytes = min(mediaBudgetBytes, limitBytes)
    }

    public var isEmpty: Bool { items.isEmpty }
    public var count: Int { items.count }
    public var backlogBytes: Int { queuedBytes + droppedSinceDrainedBytes }

    public mutating func enqueue(_ payload: Payload, frameClass: FrameClass, bytes: Int) -> Verdict {
        var dropped = 0
        if frameClass == .media {
            while queuedMediaBytes + bytes > mediaBudgetBytes, dropOldestMedia() {
                dropped += 1
            }
        }
        items.append(Item(payload: payload, frameClass: frameClass, bytes: bytes))
        queuedBytes += bytes
        if frameClass == .media { queuedMediaBytes += bytes }
        if backlogBytes > limitBytes { return .overflow }
        return dropped == 0 ? .queued : .queuedDroppingMedia(dropped)
    }

    /// The next item to write, if any.
    public var first: Item? { items.first }

    /// Removes the item that was just written.
    @discardableResult
    public mutating func removeFirst() -> Item {
        let item = items.removeFirst()
        queuedBytes -= item.bytes
        if item.frameClass == .media { queuedMediaBytes -= item.bytes }
        if items.isEmpty { droppedSinceDrainedBytes = 0 }
        return item
    }

    public mutating func removeAll() {
        items.removeAll()
        queuedBytes = 0
        queuedMediaBytes = 0
        droppedSinceDrainedBytes = 0
    }

    private mutating func dropOldestMedia() -> Bool {
        guard let index = items.firstIndex(where: { $0.frameClass == .media }) else { return false }
        let item = items.remove(at: index)
        queuedBytes -= item.bytes
        queuedMediaBytes -= item.bytes
        droppedSinceDrainedBytes += item.bytes
        droppedMediaFrames += 1
        return true
    }
}
