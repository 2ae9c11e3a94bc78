import Foundation
import Glibc
public import Logging
import RelayMedia
import RelayPlatform

/// Records audio tracks to Ogg Opus files (RFC 7845) on a thread of its own, so that recording
/// never slows forwarding. It also decodes a sample of each track's packets to measure its level.
///
/// Files live at `<dataDir>/recordings/<sessionId>/track-<n>.opus`. Pages are written as they
/// complete (no sync per packet); `close` writes the end-of-stream page, syncs the file and reports
/// its summary. After a crash, `repair` truncates a file to its last whole page and ends it.
///
/// `@unchecked Sendable`: `jobs`, `closing`, `levels` and `nextSlot` are guarded by `condition`;
/// the writers and files are touched only on the recorder thread.
public final class TrackRecorder: @unchecked Sendable {
    /// A track: its session and number.
    public struct Key: Hashable, Sendable {
        public var sessionId: String
        public var track: UInt16
        public init(sessionId: String, track: UInt16) {
            self.sessionId = sessionId
            self.track = track
        }
    }

    /// What a finished recording is, for the record's manifest.
    public struct Summary: Sendable, Hashable {
        /// Path relative to the data directory.
        public var file: String
        public var packets: Int
        public var durationMs: Int
        public var sha256: String
        public var bytes: Int64
    }

    /// The latest measured level of a track.
    public struct Level: Sendable, Hashable {
        public var dBFS: Double
        /// Recorder-clock milliseconds (monotonic) of the measured packet.
        public var atMillis: Double
    }

    /// A track's handle on the recorder, given by `open`: packets name their track by it, so the
    /// recorder finds a packet's file without hashing the session id.
    public struct Slot: Hashable, Sendable {
        let raw: UInt32
    }

    /// Audio packets gathered by the service loop and handed over at once, copied into one
    /// buffer: no allocation per packet on either thread.
    public struct PacketBatch: Sendable {
        /// Per packet: slot (4 bytes), timestamp (4), payload length (4), in host order, then the payload.
        private var buffer: [UInt8] = []
        /// Packets in the batch.
        public private(set) var count = 0

        private static let headerSize = 12

        /// A batch with room for `capacity` bytes of packets before it grows.
        public init(capacity: Int = 0) {
            buffer.reserveCapacity(capacity)
        }

        public var isEmpty: Bool { count == 0 }

        /// Copies one packet in.
        public mutating func append(_ slot: Slot, timestamp: UInt32, payload: UnsafeRawBufferPointer) {
            withUnsafeBytes(of: slot.raw) { buffer.append(contentsOf: $0) }
            withUnsafeBytes(of: timestamp) { buffer.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt32(payload.count)) { buffer.append(contentsOf: $0) }
            buffer.append(contentsOf: payload)
            count += 1
        }

        /// Calls `body` with each packet in the order appended; the payload is valid during the call only.
        public func forEach(_ body: (Slot, UInt32, UnsafeRawBufferPointer) -> Void) {
            buffer.withUnsafeBytes { bytes in
                var offset = 0
                while offset + Self.headerSize <= bytes.count {
                    let slot = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
                    let timestamp = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
                    let start = offset + Self.headerSize
                    body(Slot(raw: slot), timestamp, UnsafeRawBufferPointer(rebasing: bytes[start..<start + length]))
                    offset = start + length
                }
            }
        }
    }

    private enum Job {
        case open(Key, Slot)
        case packets(PacketBatch)
        case close(Slot, @Sendable (Summary?) -> Void)
    }

    private final class Open {
        let key: Key
        let fd: Int32
        let relativePath: String
        var writer: OggOpusWriter
        let hasher = SHA256Hasher()
        let meter: OpusLevelMeter?
        var bytes: Int64 = 0
        var sinceMetered = 0
        /// Writes that failed (their pages are missing from the file).
        var droppedWrites = 0

        init(key: Key, fd: Int32, relativePath: String, writer: OggOpusWriter, meter: OpusLevelMeter?) {
            self.key = key
            self.fd = fd
            self.relativePath = relativePath
            self.writer = writer
            self.meter = meter
        }
    }

    public let dataDirectory: String
    /// One packet in `meterEvery` is decoded for the level. At 50, one level a second for 20 ms
    /// packets: what health reads (`latestLevels`, once a second), 10 samples in the 10 s that make a
    /// track `silent`. A decode costs 25–33 µs: at 5 it was ~30 % of a core at 50k packets/s, at 25
    /// 8.5 % of the relay's CPU (docs/benchmarks.md), and half of those levels were never read.
    public let meterEvery: Int
    private let logger: Logger
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var closing = false
    private var finished = false
    private var levels: [Key: Level] = [:]
    private var nextSlot: UInt32 = 0
    /// Recorder thread only.
    private var open: [Slot: Open] = [:]
    private var thread: Thread?
    private let started = ContinuousClock.now

    public init(dataDirectory: String, meterEvery: Int = 50, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.meterEvery = max(1, meterEvery)
        self.logger = logger
        let thread = Thread { [self] in
            nameCurrentThread("wr-recorder")  // for top -H, ps -L and perf (docs/operations.md)
            run()
        }
        self.thread = thread
        thread.start()
    }

    /// The file of a track, relative to the data directory.
    public static func relativePath(_ key: Key) -> String {
        "recordings/\(key.sessionId)/track-\(key.track).opus"
    }

    /// Starts recording `key`; its packets and its close name it by the slot returned.
    public func open(_ key: Key) -> Slot {
        condition.lock()
        nextSlot &+= 1
        let slot = Slot(raw: nextSlot)
        condition.unlock()
        post(.open(key, slot))
        return slot
    }

    /// Queues packets gathered by the caller, in order, with one lock and at most one wake-up: the
    /// service loop hands them over a few times a second instead of waking this thread per packet.
    public func packets(_ batch: PacketBatch) {
        guard !batch.isEmpty else { return }
        post(.packets(batch))
    }

    /// Ends the file, syncs it, and reports its summary (nil when it was never opened or failed).
    public func close(_ slot: Slot, completion: @escaping @Sendable (Summary?) -> Void) {
        post(.close(slot, completion))
    }

    /// The latest levels, for health; cheap to call once a second.
    public func latestLevels() -> [Key: Level] {
        condition.lock()
        defer { condition.unlock() }
        return levels
    }

    /// Finishes every open file (end page, sync) and stops the thread. Idempotent.
    public func shutdown() {
        condition.lock()
        closing = true
        condition.broadcast()
        while !finished && thread != nil { condition.wait() }
        condition.unlock()
    }

    /// Repairs a file left by a crash so that it plays: cut after the last whole page, end it.
    /// Returns the summary of what remains.
    public static func repair(dataDirectory: String, key: Key) -> Summary? {
        let relative = relativePath(key)
        let path = dataDirectory + "/" + relative
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard (try? OggRepair.truncateToLastCompletePage(fileAt: path)) != nil,
            let summary = try? OggRepair.inspect(fileAt: path)
        else { return nil }
        let hasher = SHA256Hasher()
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(Array(chunk)) }
        return Summary(
            file: relative, packets: 0, durationMs: Int((summary.durationSamples ?? 0) / 48),
            sha256: Hex.encode(hasher.finalize()),
            bytes: Int64(summary.fileLength))
    }

    // MARK: Recorder thread

    private func post(_ job: Job) {
        condition.lock()
        if closing {
            condition.unlock()
            if case .close(_, let completion) = job { completion(nil) }
            return
        }
        jobs.append(job)
        if jobs.count == 1 { condition.signal() }
        condition.unlock()
    }

    private func run() {
        // Recording is not latency sensitive, forwarding is: on a shared core the scheduler runs
        // the service loop first. Nice 10 for this thread only: on Linux `who` 0 is the calling thread.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        while true {
            condition.lock()
            while jobs.isEmpty && !closing { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            let stop = closing && batch.isEmpty
            condition.unlock()
            if stop { break }
            for job in batch { perform(job) }
        }
        for key in Array(open.keys) { _ = finish(key) }
        condition.lock()
        finished = true
        // The thread's closure holds this object: let go of the thread so that neither keeps the other.
        thread = nil
        condition.broadcast()
        condition.unlock()
    }

    private func perform(_ job: Job) {
        switch job {
        case .open(let key, let slot):
            openFile(key, slot: slot)
        case .packets(let batch):
            batch.forEach { slot, timestamp, payload in
                guard let file = open[slot] else { return }
                record(payload, timestamp: timestamp, to: file)
            }
        case .close(let slot, let completion):
            completion(finish(slot))
        }
    }

    private func record(_ payload: UnsafeRawBufferPointer, timestamp: UInt32, to file: Open) {
        let pages = file.writer.append(packet: payload, timestamp: timestamp)
        write(pages, to: file)
        file.sinceMetered += 1
        guard file.sinceMetered >= meterEvery, let meter = file.meter, let level = meter.level(of: payload) else { return }
        file.sinceMetered = 0
        let now = ContinuousClock.now - started
        let millis = Double(now.components.seconds) * 1000 + Double(now.components.attoseconds) / 1e15
        condition.lock()
        levels[file.key] = Level(dBFS: level, atMillis: millis)
        condition.unlock()
    }

    private func openFile(_ key: Key, slot: Slot) {
        guard open[slot] == nil else { return }
        let relative = Self.relativePath(key)
        let directory = dataDirectory + "/recordings/" + key.sessionId
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            logger.error("cannot create the recordings folder", metadata: ["path": "\(directory)", "error": "\(error)"])
            return
        }
        let fd = Glibc.open(dataDirectory + "/" + relative, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            logger.error("cannot create a recording", metadata: ["path": "\(relative)", "errno": "\(errno)"])
            return
        }
        var serial = UInt32(key.track)
        for byte in key.sessionId.utf8 { serial = serial &* 31 &+ UInt32(byte) }
        let file = Open(
            key: key, fd: fd, relativePath: relative, writer: OggOpusWriter(serial: serial),
            meter: try? OpusLevelMeter())
        guard write(file.writer.header(), to: file) else {
            // Without its header the file would never play: no recording for this track.
            Glibc.close(fd)
            unlink(dataDirectory + "/" + relative)
            logger.error("recording not started: its header could not be written", metadata: ["path": "\(relative)"])
            return
        }
        open[slot] = file
    }

    /// Writes whole pages. Pages that cannot be written (disk full, I/O error) are left out: the
    /// file is cut back to its last whole page, so it stays playable and its SHA-256 (over what is
    /// on disk) stays right, and their sequence numbers are taken back, so the missing audio is a
    /// gap in time, like lost packets. False when it failed.
    @discardableResult
    private func write(_ bytes: [UInt8], to file: Open) -> Bool {
        guard !bytes.isEmpty else { return true }
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(file.fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let error = errno
                if done > 0 {
                    _ = ftruncate(file.fd, off_t(file.bytes))
                    _ = lseek(file.fd, off_t(file.bytes), SEEK_SET)
                }
                file.droppedWrites += 1
                file.writer.unwrite(pages: OggOpusWriter.pageCount(in: bytes))
                if file.droppedWrites == 1 || file.droppedWrites % 500 == 0 {
                    logger.error(
                        "recording write failed; pages are left out until it succeeds again",
                        metadata: [
                            "path": "\(file.relativePath)", "errno": "\(error)", "dropped": "\(file.droppedWrites)",
                        ])
                }
                return false
            }
            done += n
        }
        file.hasher.update(bytes)
        file.bytes += Int64(bytes.count)
        return true
    }

    private func finish(_ slot: Slot) -> Summary? {
        guard let file = open.removeValue(forKey: slot) else { return nil }
        write(file.writer.finish(), to: file)
        fsync(file.fd)
        Glibc.close(file.fd)
        condition.lock()
        levels.removeValue(forKey: file.key)
        condition.unlock()
        return Summary(
            file: file.relativePath, packets: file.writer.packets, durationMs: Int(file.writer.durationSamples / 48),
            sha256: Hex.encode(file.hasher.finalize()), bytes: file.bytes)
    }
}
