#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file operation on a recording that failed, with the `errno` the system gave.
public struct OggFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// What was being done (`open`, `read`, `truncate`, `write`, `fsync`).
    public var operation: String
    public var errno: Int32

    public var description: String {
        "cannot \(operation) recording \(path): \(String(cString: strerror(errno))) (errno \(errno)); "
            + "check that the file exists and the data directory is writable"
    }
}

/// What a walk over an Ogg file's pages found: how much of it is whole.
public struct OggStreamSummary: Sendable, Hashable {
    /// Bytes in the file.
    public var fileLength: Int64
    /// Bytes up to the end of the last valid page.
    public var validLength: Int64
    /// Valid pages from the start.
    public var pages: Int
    /// The stream's serial number (from the first page).
    public var serial: UInt32?
    /// The last valid page's sequence number.
    public var lastSequence: UInt32?
    /// The granule position of the last valid page on which a packet ends (pages with −1,
    /// such as an empty end-of-stream page, are passed over).
    public var lastGranule: Int64?
    /// Whether the last valid page has the end-of-stream flag.
    public var endsWithEOS: Bool
    /// The pre-skip from `OpusHead` when the first page is one.
    public var preSkip: UInt16?

    /// 48 kHz samples of audio (last granule minus pre-skip), when known.
    public var durationSamples: Int64? {
        guard let lastGranule, lastGranule >= 0, let preSkip else { return nil }
        return max(0, lastGranule - Int64(preSkip))
    }
}

/// Repairs a single-stream Ogg Opus recording cut short by a crash (`kill -9`): Ogg pages
/// carry their own checksums, so everything up to the last valid page is kept.
public enum OggRepair {
    /// Walks the pages of the file at `path` from the start and reports the valid prefix.
    ///
    /// A page is valid when its capture pattern, version, flags, serial (the first page's),
    /// sequence number (one more than the previous), lengths and CRC all check out; the walk
    /// stops at the first invalid page or after an end-of-stream page.
    public static func inspect(fileAt path: String) throws(OggFileError) -> OggStreamSummary {
        let file = try RecordingFile(path: path, writable: false)
        return try file.inspect()
    }

    /// The granule position of the last valid page, or `nil` when no page is valid.
    public static func lastGranule(fileAt path: String) throws(OggFileError) -> Int64? {
        try inspect(fileAt: path).lastGranule
    }

    /// Cuts the file after its last valid page and, if that page is not end-of-stream, appends
    /// an empty end-of-stream page (same serial, next sequence number, granule position −1 as
    /// RFC 3533 asks of a page on which no packet ends: `opusinfo` warns about a repeated real
    /// one), then syncs. A file without both header pages (`OpusHead`, `OpusTags`) holds no audio
    /// and is cut to nothing. A whole file is left as it is.
    ///
    /// - Returns: the file's new length.
    @discardableResult
    public static func truncateToLastCompletePage(fileAt path: String) throws(OggFileError) -> Int64 {
        let file = try RecordingFile(path: path, writable: true)
        let summary = try file.inspect()
        guard summary.pages >= 2, let serial = summary.serial, let sequence = summary.lastSequence else {
            try file.truncate(to: 0)
            try file.sync()
            return 0
        }
        if summary.validLength == summary.fileLength && summary.endsWithEOS { return summary.fileLength }
        try file.truncate(to: summary.validLength)
        var length = summary.validLength
        if !summary.endsWithEOS {
            let eos = OggPage(
                flags: .endOfStream, granule: -1, serial: serial, sequence: sequence &+ 1
            ).bytes
            try file.write(eos, at: length)
            length += Int64(eos.count)
        }
        try file.sync()
        return length
    }
}

/// An open recording file descriptor, closed in `deinit`.
private final class RecordingFile {
    let path: String
    let fd: Int32

    init(path: String, writable: Bool) throws(OggFileError) {
        self.path = path
        fd = open(path, writable ? O_RDWR : O_RDONLY)
        if fd < 0 { throw OggFileError(path: path, operation: "open", errno: errno) }
    }

    deinit { close(fd) }

    func inspect() throws(OggFileError) -> OggStreamSummary {
        var stat = stat()
        if fstat(fd, &stat) != 0 { throw OggFileError(path: path, operation: "stat", errno: errno) }
        var summary = OggStreamSummary(
            fileLength: Int64(stat.st_size), validLength: 0, pages: 0, endsWithEOS: false
        )
        var offset: Int64 = 0
        while !summary.endsWithEOS, let page = try readPage(at: offset, after: summary) {
            summary.pages += 1
            summary.serial = summary.serial ?? page.serial
            summary.lastSequence = page.sequence
            if page.granule != -1 { summary.lastGranule = page.granule }
            summary.endsWithEOS = page.flags.contains(.endOfStream)
            if summary.pages == 1, page.body.count >= 19, Array(page.body[0..<8]) == Array("OpusHead".utf8) {
                summary.preSkip = page.body.readLittleEndian(UInt16.self, at: 10)
            }
            offset += Int64(OggPage.headerSize + page.segments.count + page.body.count)
            summary.validLength = offset
        }
        return summary
    }

    /// The page at `offset` if it is whole and continues the stream described by `previous`.
    private func readPage(at offset: Int64, after previous: OggStreamSummary) throws(OggFileError) -> OggPage? {
        guard let header = try read(OggPage.headerSize, at: offset),
            Array(header[0..<4]) == OggPage.capturePattern, header[4] == 0, header[5] & ~0x07 == 0
        else { return nil }
        let flags = OggPage.Flags(rawValue: header[5])
        let serial = header.readLittleEndian(UInt32.self, at: 14)
        let sequence = header.readLittleEndian(UInt32.self, at: 18)
        let isFirst = previous.pages == 0
        guard flags.contains(.beginOfStream) == isFirst, !flags.contains(.continued) || !isFirst,
            isFirst || (serial == previous.serial && sequence == previous.lastSequence.map { $0 &+ 1 })
        else { return nil }
        let segmentCount = Int(header[26])
        guard let segments = try read(segmentCount, at: offset + Int64(OggPage.headerSize)) else { return nil }
        let bodyLength = segments.reduce(0) { $0 + Int($1) }
        guard let body = try read(bodyLength, at: offset + Int64(OggPage.headerSize + segmentCount)) else {
            return nil
        }
        var zeroed = header
        zeroed.replaceSubrange(OggPage.crcOffset..<OggPage.crcOffset + 4, with: [0, 0, 0, 0])
        let crc = OggCRC.update(OggCRC.update(OggCRC.update(0, zeroed), segments), body)
        guard crc == header.readLittleEndian(UInt32.self, at: OggPage.crcOffset) else { return nil }
        let granule = Int64(bitPattern: header.readLittleEndian(UInt64.self, at: 6))
        return OggPage(
            flags: flags, granule: granule, serial: serial, sequence: sequence, segments: segments, body: body
        )
    }

    /// Exactly `count` bytes at `offset`, or `nil` when the file ends first.
    private func read(_ count: Int, at offset: Int64) throws(OggFileError) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw OggFileError(path: path, operation: "read", errno: errno)
            }
            if n == 0 { return nil }
            done += n
        }
        return buffer
    }

    func truncate(to length: Int64) throws(OggFileError) {
        if ftruncate(fd, off_t(length)) != 0 { throw OggFileError(path: path, operation: "truncate", errno: errno) }
    }

    func write(_ bytes: [UInt8], at offset: Int64) throws(OggFileError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes {
                pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw OggFileError(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    func sync() throws(OggFileError) {
        if fsync(fd) != 0 { throw OggFileError(path: path, operation: "fsync", errno: errno) }
    }
}
