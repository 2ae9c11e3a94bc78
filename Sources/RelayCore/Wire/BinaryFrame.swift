/// A binary WebSocket message (PROTOCOL §4, §6): its header fields and where its payload lies.
///
/// All integers are big-endian. Parsing never copies: the payload is a range of the parsed buffer,
/// so the relay can forward the very bytes it received.
///
/// ```
/// audio           0x01 | track u16 | seq u16 | timestamp u32 (48 kHz) | one Opus packet (1…1275)
/// document chunk  0x02 | upload u32 | offset u64 | bytes (1…)
/// video           0x03 | track u16 | seq u16 | timestamp u32 (90 kHz) | flags u8 | payload (1…)
/// ```
public enum BinaryFrame: Sendable, Hashable {
    case audio(AudioHeader, payload: Range<Int>)
    case documentChunk(DocumentChunkHeader, payload: Range<Int>)
    case video(VideoHeader, payload: Range<Int>)

    /// The first byte of a binary message.
    public enum Kind: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case audio = 0x01
        case documentChunk = 0x02
        case video = 0x03

        /// Header bytes, the kind byte included.
        public var headerSize: Int {
            switch self {
            case .audio: 9
            case .documentChunk: 13
            case .video: 10
            }
        }

        /// The largest payload allowed (`Int.max` when the frame layout sets none).
        public var maxPayload: Int { self == .audio ? 1275 : Int.max }

        public var description: String {
            switch self {
            case .audio: "audio"
            case .documentChunk: "document chunk"
            case .video: "video"
            }
        }
    }

    /// The header of an audio frame.
    public struct AudioHeader: Sendable, Hashable {
        public var track: UInt16
        public var seq: UInt16
        /// 48 kHz clock.
        public var timestamp: UInt32

        public init(track: UInt16, seq: UInt16, timestamp: UInt32) {
            self.track = track
            self.seq = seq
            self.timestamp = timestamp
        }
    }

    /// The header of a document chunk: which upload, and at which byte offset of the file.
    public struct DocumentChunkHeader: Sendable, Hashable {
        public var upload: UInt32
        public var offset: UInt64

        public init(upload: UInt32, offset: UInt64) {
            self.upload = upload
            self.offset = offset
        }
    }

    /// The header of a video frame.
    public struct VideoHeader: Sendable, Hashable {
        public var track: UInt16
        public var seq: UInt16
        /// 90 kHz clock.
        public var timestamp: UInt32
        /// Bit 0: keyframe. Other bits are reserved and passed through.
        public var flags: UInt8

        public init(track: UInt16, seq: UInt16, timestamp: UInt32, flags: UInt8) {
            self.track = track
            self.seq = seq
            self.timestamp = timestamp
            self.flags = flags
        }

        public var isKeyframe: Bool { flags & 1 != 0 }
    }

    public var kind: Kind {
        switch self {
        case .audio: .audio
        case .documentChunk: .documentChunk
        case .video: .video
        }
    }

    /// The byte range of the payload within the parsed buffer.
    public var payload: Range<Int> {
        switch self {
        case .audio(_, let payload), .documentChunk(_, let payload), .video(_, let payload): payload
        }
    }

    /// Reads a binary message's header; the payload stays in `frame`.
    public static func parse(_ frame: UnsafeRawBufferPointer) throws(BinaryFrameError) -> BinaryFrame {
        guard let first = frame.first else { throw .empty }
        guard let kind = Kind(rawValue: first) else { throw .unknownKind(first) }
        guard frame.count >= kind.headerSize else {
            throw .shortHeader(kind, needed: kind.headerSize, got: frame.count)
        }
        let payload = kind.headerSize..<frame.count
        guard !payload.isEmpty else { throw .emptyPayload(kind) }
        guard payload.count <= kind.maxPayload else {
            throw .payloadTooLarge(kind, max: kind.maxPayload, got: payload.count)
        }
        func read<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
            T(bigEndian: frame.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        switch kind {
        case .audio:
            let header = AudioHeader(
                track: read(1, as: UInt16.self), seq: read(3, as: UInt16.self),
                timestamp: read(5, as: UInt32.self))
            return .audio(header, payload: payload)
        case .documentChunk:
            let header = DocumentChunkHeader(upload: read(1, as: UInt32.self), offset: read(5, as: UInt64.self))
            return .documentChunk(header, payload: payload)
        case .video:
            let header = VideoHeader(
                track: read(1, as: UInt16.self), seq: read(3, as: UInt16.self),
                timestamp: read(5, as: UInt32.self), flags: frame[9])
            return .video(header, payload: payload)
        }
    }

    /// Parses a frame held in any byte collection (copies only when it is not contiguous).
    ///
    /// The payload range counts bytes from the collection's first byte, not its indices.
    public static func parse(_ bytes: some Collection<UInt8>) throws(BinaryFrameError) -> BinaryFrame {
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in
            Result { () throws(BinaryFrameError) -> BinaryFrame in try parse(UnsafeRawBufferPointer(buffer)) }
        }) {
            return try result.get()
        }
        return try Array(bytes).withUnsafeBytes { raw in
            Result { () throws(BinaryFrameError) -> BinaryFrame in try parse(raw) }
        }.get()
    }

    /// The bytes of an audio frame; refuses an empty payload or one over 1275 bytes.
    public static func encodeAudio(_ header: AudioHeader, payload: some Collection<UInt8>)
        throws(BinaryFrameError) -> [UInt8]
    {
        var out = try start(.audio, payloadCount: payload.count)
        append(header.track, to: &out)
        append(header.seq, to: &out)
        append(header.timestamp, to: &out)
        out.append(contentsOf: payload)
        return out
    }

    /// The bytes of a document chunk; refuses an empty payload.
    public static func encodeDocumentChunk(_ header: DocumentChunkHeader, payload: some Collection<UInt8>)
        throws(BinaryFrameError) -> [UInt8]
    {
        var out = try start(.documentChunk, payloadCount: payload.count)
        append(header.upload, to: &out)
        append(header.offset, to: &out)
        out.append(contentsOf: payload)
        return out
    }

    /// The bytes of a video frame; refuses an empty payload.
    public static func encodeVideo(_ header: VideoHeader, payload: some Collection<UInt8>)
        throws(BinaryFrameError) -> [UInt8]
    {
        var out = try start(.video, payloadCount: payload.count)
        append(header.track, to: &out)
        append(header.seq, to: &out)
        append(header.timestamp, to: &out)
        out.append(header.flags)
        out.append(contentsOf: payload)
        return out
    }

    private static func start(_ kind: Kind, payloadCount: Int) throws(BinaryFrameError) -> [UInt8] {
        guard payloadCount > 0 else { throw .emptyPayload(kind) }
        guard payloadCount <= kind.maxPayload else {
            throw .payloadTooLarge(kind, max: kind.maxPayload, got: payloadCount)
        }
        var out: [UInt8] = []
        out.reserveCapacity(kind.headerSize + payloadCount)
        out.append(kind.rawValue)
        return out
    }

    private static func append(_ value: some FixedWidthInteger, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }
}

/// Why a binary message was refused; the description says what the sender must change.
public enum BinaryFrameError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case unknownKind(UInt8)
    case shortHeader(BinaryFrame.Kind, needed: Int, got: Int)
    case emptyPayload(BinaryFrame.Kind)
    case payloadTooLarge(BinaryFrame.Kind, max: Int, got: Int)

    public var description: String {
        switch self {
        case .empty:
            "empty binary message: it must start with a kind byte, 0x01 audio, 0x02 document chunk or 0x03 video"
        case .unknownKind(let byte):
            "unknown binary message kind 0x\(String(byte, radix: 16, uppercase: true).leftPadded(2)): "
                + "the first byte must be 0x01 audio, 0x02 document chunk or 0x03 video"
        case .shortHeader(let kind, let needed, let got):
            "\(kind) frame of \(got) bytes is shorter than its \(needed)-byte header"
        case .emptyPayload(let kind):
            "\(kind) frame has no payload: send at least one byte after the header"
        case .payloadTooLarge(let kind, let max, let got):
            "\(kind) frame payload of \(got) bytes is over the \(max)-byte limit"
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
