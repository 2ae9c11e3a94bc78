/// Turns one audio track's Opus packets into an Ogg Opus file (RFC 7845, RFC 3533), as bytes
/// to append to the file; no libogg.
///
/// Layout: page 0 is `OpusHead` alone (beginning of stream), page 1 is `OpusTags`, then audio
/// pages; the last page carries the end-of-stream flag.
///
/// Flush policy: a packet never spans pages. The current page is completed before a packet that
/// would take it past 255 lacing values or 4096 body bytes, after a packet that makes it cover
/// one second of audio (48 000 samples from its first packet's start), before a gap too long to
/// fill (below), on `flush()` (e.g. when a track goes quiet) and on `finish()`. So a crash loses
/// at most about one second, and every page but an empty end-of-stream one ends with a whole
/// packet and has a real granule position.
///
/// Time: a packet starts at its 48 kHz RTP-style timestamp minus the track's first timestamp
/// (32-bit wrap followed by taking each step between timestamps as a signed 32-bit difference),
/// so lost packets leave a gap in time. A gap of up to `maxConcealedGap` samples is filled with
/// one-byte "lost frame" packets (the TOC byte of the packet after the gap, no frame data:
/// decoders conceal them), so that `opusdec` and `opusinfo` keep the gap too. A longer gap is
/// kept by the granule positions alone: the page before it is completed and the next page's
/// granule jumps (as does, within a page, a rest shorter than one frame). A packet whose
/// timestamp is earlier than the end of the previous one (reordered, repeated) starts at that
/// end instead, so granule positions never decrease. A page's granule position is the pre-skip
/// plus the end (start + `OpusPacket.validate` samples) of its last packet; the empty
/// end-of-stream page `finish()` may write has −1 (RFC 3533: no packet ends on it; `opusinfo`
/// warns about a repeated real value there).
public struct OggOpusWriter: Sendable {
    /// The largest page body the writer builds before starting a new page.
    public static let maxPageBody = 4096
    /// Audio after which a page is completed, in 48 kHz samples.
    public static let maxPageSamples: Int64 = 48_000
    /// The longest gap (48 kHz samples, 5 s) filled with lost-frame packets; bounded so that
    /// wild timestamps cannot make the file grow much faster than the packets sent.
    public static let maxConcealedGap: Int64 = 5 * 48_000

    public let serial: UInt32
    public let preSkip: UInt16
    public let channels: UInt8
    public let vendor: String
    public let comments: [String]

    /// Audio packets written.
    public private(set) var packets = 0
    /// Samples of lost-frame filler written into gaps.
    public private(set) var concealedSamples: Int64 = 0
    /// Packets refused because libopus rejected their framing, or given after `finish()`.
    public private(set) var skipped = 0
    /// End of the last packet in 48 kHz samples from the track's first timestamp (gaps included,
    /// pre-skip not included).
    public private(set) var durationSamples: Int64 = 0

    private var nextSequence: UInt32 = 0
    private var headerWritten = false
    private var finished = false
    private var page: OggPage
    private var pageStart: Int64 = 0
    private var lastTimestamp: UInt32 = 0
    /// `lastTimestamp` relative to the first timestamp, unwrapped.
    private var lastPosition: Int64 = 0

    /// - Parameters:
    ///   - serial: the logical stream's serial number.
    ///   - preSkip: samples to drop at the start: the encoder's lookahead (`OpusEncoder.lookahead`).
    ///   - comments: user comments for `OpusTags`, each `NAME=value`.
    public init(
        serial: UInt32,
        preSkip: UInt16 = 312,
        channels: UInt8 = 1,
        vendor: String = "windowrelay",
        comments: [String] = []
    ) {
        self.serial = serial
        self.preSkip = preSkip
        self.channels = channels
        self.vendor = vendor
        self.comments = comments
        self.page = OggPage(granule: 0, serial: serial, sequence: 0)
    }

    /// The two header pages (`OpusHead`, `OpusTags`) the first time; empty afterwards.
    /// `append` and `finish` call it themselves when needed.
    public mutating func header() -> [UInt8] {
        guard !headerWritten else { return [] }
        headerWritten = true
        var head: [UInt8] = Array("OpusHead".utf8)
        head.append(1)  // version
        head.append(channels)
        head.appendLittleEndian(preSkip)
        head.appendLittleEndian(UInt32(48_000))  // input sample rate
        head.appendLittleEndian(Int16(0))  // output gain
        head.append(0)  // channel mapping family 0: mono or stereo
        var tags: [UInt8] = Array("OpusTags".utf8)
        tags.appendLittleEndian(UInt32(vendor.utf8.count))
        tags += vendor.utf8
        tags.appendLittleEndian(UInt32(comments.count))
        for comment in comments {
            tags.appendLittleEndian(UInt32(comment.utf8.count))
            tags += comment.utf8
        }
        precondition(tags.count < 255 * 255, "OpusTags must fit one page")
        var headPage = OggPage(flags: .beginOfStream, granule: 0, serial: serial, sequence: takeSequence())
        headPage.append(packet: head)
        var tagsPage = OggPage(granule: 0, serial: serial, sequence: takeSequence())
        tagsPage.append(packet: tags)
        page = OggPage(granule: 0, serial: serial, sequence: 0)
        return headPage.bytes + tagsPage.bytes
    }

    /// Adds one Opus packet sent with `timestamp` (48 kHz clock); returns the bytes of any pages
    /// completed now (often none).
    public mutating func append(packet: UnsafeRawBufferPointer, timestamp: UInt32) -> [UInt8] {
        guard !finished else {
            skipped += 1
            return []
        }
        var out = header()
        guard let samples = OpusPacket.validate(packet) else {
            skipped += 1
            return out
        }
        if packets == 0 {
            lastPosition = 0
        } else {
            lastPosition += Int64(Int32(bitPattern: timestamp &- lastTimestamp))
        }
        lastTimestamp = timestamp
        if packets > 0, lastPosition > durationSamples {
            if lastPosition - durationSamples <= Self.maxConcealedGap {
                out += fillGap(before: packet, until: lastPosition)
            } else if !page.segments.isEmpty {
                // Keep the unfilled gap between pages, where granule positions place it exactly.
                out += completePage(endOfStream: false)
            }
        }
        let start = packets == 0 ? 0 : max(lastPosition, durationSamples)
        out += add(packet: packet, start: start, samples: samples)
        packets += 1
        return out
    }

    /// `append(packet:timestamp:)` for bytes in any collection.
    public mutating func append(packet: some Collection<UInt8>, timestamp: UInt32) -> [UInt8] {
        Array(packet).withUnsafeBytes { append(packet: $0, timestamp: timestamp) }
    }

    /// Completes the current page now if it holds any packet (plus the headers if not yet
    /// written); returns its bytes.
    public mutating func flush() -> [UInt8] {
        guard !finished else { return [] }
        let out = header()
        return page.segments.isEmpty ? out : out + completePage(endOfStream: false)
    }

    /// The final bytes: the pending packets on a page marked end-of-stream, or, when no packet
    /// is pending, an empty end-of-stream page (granule position −1). Later calls return nothing.
    public mutating func finish() -> [UInt8] {
        guard !finished else { return [] }
        let out = header()
        defer { finished = true }
        return out + completePage(endOfStream: true)
    }

    /// Lost-frame packets from the end of the last packet up to `position`, in whole frames of
    /// `packet`'s frame size.
    private mutating func fillGap(before packet: UnsafeRawBufferPointer, until position: Int64) -> [UInt8] {
        let filler = OpusPacket.lossFiller(like: packet)
        guard filler.samples > 0 else { return [] }
        var out: [UInt8] = []
        withUnsafeBytes(of: filler.toc) { fillerBytes in
            while durationSamples + Int64(filler.samples) <= position {
                out += add(packet: fillerBytes, start: durationSamples, samples: filler.samples)
                concealedSamples += Int64(filler.samples)
            }
        }
        return out
    }

    /// Puts one packet on the current page, completing pages as the flush policy says.
    private mutating func add(packet: UnsafeRawBufferPointer, start: Int64, samples: Int) -> [UInt8] {
        var out: [UInt8] = []
        let lacingCount = packet.count / 255 + 1
        if !page.segments.isEmpty,
            page.segments.count + lacingCount > 255 || page.body.count + packet.count > Self.maxPageBody
        {
            out += completePage(endOfStream: false)
        }
        if page.segments.isEmpty { pageStart = start }
        page.append(packet: packet)
        durationSamples = start + Int64(samples)
        if durationSamples - pageStart >= Self.maxPageSamples {
            out += completePage(endOfStream: false)
        }
        return out
    }

    private mutating func completePage(endOfStream: Bool) -> [UInt8] {
        // RFC 3533: -1 marks a page on which no packet ends (only the empty end-of-stream page).
        page.granule = page.segments.isEmpty ? -1 : Int64(preSkip) + durationSamples
        page.sequence = takeSequence()
        if endOfStream { page.flags.insert(.endOfStream) }
        let bytes = page.bytes
        page.reset()  // its buffers keep their room: the next page fills them without growing
        return bytes
    }

    /// Takes back the sequence numbers of the last `pages` pages returned, which could not be
    /// stored (a full disk): the next page follows the last stored one, so the stream has no
    /// sequence gap and the missing audio is a gap in time (the granule positions), like lost
    /// packets.
    public mutating func unwrite(pages: Int) {
        nextSequence &-= UInt32(truncatingIfNeeded: pages)
    }

    /// The number of whole Ogg pages in `bytes` (as returned by this writer).
    public static func pageCount(in bytes: [UInt8]) -> Int {
        var count = 0
        var offset = 0
        while offset + 27 <= bytes.count {
            let segments = Int(bytes[offset + 26])
            guard offset + 27 + segments <= bytes.count else { break }
            let body = bytes[(offset + 27)..<(offset + 27 + segments)].reduce(0) { $0 + Int($1) }
            offset += 27 + segments + body
            count += 1
        }
        return count
    }

    private mutating func takeSequence() -> UInt32 {
        defer { nextSequence &+= 1 }
        return nextSequence
    }
}
