import RelayCore
import Testing

@Suite struct RecordChainTests {
    let chain = RecordChain(sha256: TestSHA256.hash)

    /// 2026-11-22T08:15:02.123Z
    static let at: Int64 = 1_795_335_302_123

    static let document = SessionEvent(
        sessionId: "s_1", seq: 1, atMillis: at, type: "doc.available", actor: "u1",
        data: [
            "document": ["id": "d_7", "name": "营业执照.pdf", "size": 1_048_576, "from": "u1"],
            "numbers": [1, 1.5, 1e21, 0.000001],
            // UTF-16 order: "Z" 005A < "a" 0061 < "€" 20AC < "😀" D83D DE00 < U+FB33.
            "keys": ["\u{FB33}": "dalet", "😀": "grin", "€": "euro", "a": "a", "Z": "Z"],
        ],
        hash: ""
    )

    static let chat = SessionEvent(
        sessionId: "s_1", seq: 2, atMillis: at + 1000, type: "chat", actor: "u2", data: ["text": "您好"], hash: ""
    )

    static let documentText =
        #"{"actor":"u1","at":"2026-11-22T08:15:02.123Z","data":{"document":{"from":"u1","#
        + #""id":"d_7","name":"营业执照.pdf","size":1048576},"keys":{"Z":"Z","a":"a","€":"euro","😀":"grin","#
        + "\"\u{FB33}\"" + #":"dalet"},"numbers":[1,1.5,1e+21,0.000001]},"seq":1,"type":"doc.available"}"#
    /// sha256("000…000\n" + documentText), by `sha256sum` and by node's crypto.
    static let documentHash = "d6dca637fa11ce0b16c185146bdfa9fb5fb2239c8d5a23b3e0fdc4e5941cedc4"
    /// sha256(documentHash + "\n" + chat's entry text).
    static let chatHash = "d22f42069fa73eca3e2cd7d2c51fc7622e7d6c8bbe6fe9ded18fa21f975152c2"

    /// The events with their hashes filled in by the chain under test.
    func sealed(_ events: [SessionEvent]) -> [SessionEvent] {
        var prev = RecordChain.genesis
        return events.map { event in
            var event = event
            event.hash = chain.hash(prev: prev, entry: event)
            prev = event.hash
            return event
        }
    }

    @Test func testSHA256MatchesKnownDigests() {
        #expect(TestSHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TestSHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            TestSHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
        #expect(
            TestSHA256.hex(String(repeating: "a", count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        )
    }

    @Test func genesisIs64Zeros() {
        #expect(RecordChain.genesis == String(repeating: "0", count: 64))
    }

    @Test func entryCanonicalTextIsExact() {
        // Bytes, not Strings: String == is canonical equivalence (U+FB33 == U+05D3 U+05BC).
        #expect(Self.document.recordEntryWithoutHash.canonicalBytes == Array(Self.documentText.utf8))
        #expect(Self.documentText.utf8.count == 262)
        let chatText = #"{"actor":"u2","at":"2026-11-22T08:15:03.123Z","data":{"text":"您好"},"seq":2,"type":"chat"}"#
        #expect(Self.chat.recordEntryWithoutHash.canonicalBytes == Array(chatText.utf8))
    }

    @Test func hashOfFirstEntryIsTheFixedVector() {
        #expect(TestSHA256.hex(RecordChain.genesis + "\n" + Self.documentText) == Self.documentHash)
        #expect(chain.hash(prev: RecordChain.genesis, entry: Self.document) == Self.documentHash)
        #expect(chain.hash(prev: Self.documentHash, entry: Self.chat) == Self.chatHash)
    }

    @Test func hashIgnoresTheStoredHash() {
        var entry = Self.document
        entry.hash = "ff"
        #expect(chain.hash(prev: RecordChain.genesis, entry: entry) == Self.documentHash)
    }

    @Test func verifyAcceptsAnIntactRecord() {
        #expect(chain.verify(sealed([Self.document, Self.chat])) == .ok(head: Self.chatHash))
        #expect(chain.verify([]) == .ok(head: RecordChain.genesis))
    }

    @Test func verifyFindsAnAlteredEntry() {
        var events = sealed([
            Self.document, Self.chat,
            SessionEvent(
                sessionId: "s_1", seq: 3, atMillis: Self.at + 2000, type: "chat", actor: "u1", data: ["text": "ok"],
                hash: ""
            ),
        ])
        events[1].data["text"] = "您好!"
        guard case .broken(let seq, .hash(let computed, let stored)) = chain.verify(events) else {
            Issue.record("expected a hash break, got \(chain.verify(events))")
            return
        }
        #expect(seq == 2)
        #expect(stored == Self.chatHash)
        #expect(computed != Self.chatHash)
    }

    @Test func verifyFindsAnUppercaseHash() {
        var events = sealed([Self.document])
        events[0].hash = events[0].hash.uppercased()
        #expect(
            chain.verify(events)
                == .broken(firstBadSeq: 1, reason: .hash(computed: Self.documentHash, stored: events[0].hash))
        )
    }

    @Test func verifyFindsSeqGapsAndBadStarts() {
        let events = sealed([Self.document, Self.chat])
        #expect(
            chain.verify([events[0], events[0]])
                == .broken(firstBadSeq: 2, reason: .sequence(expected: 2, found: 1))
        )
        var third = events[1]
        third.seq = 3
        #expect(
            chain.verify([events[0], third]) == .broken(firstBadSeq: 2, reason: .sequence(expected: 2, found: 3))
        )
        #expect(chain.verify([events[1]]) == .broken(firstBadSeq: 1, reason: .sequence(expected: 1, found: 2)))
    }

    @Test func verifyFindsAnotherSessionsEntry() {
        var events = sealed([Self.document, Self.chat])
        events[1].sessionId = "s_2"
        #expect(
            chain.verify(events) == .broken(firstBadSeq: 2, reason: .otherSession(expected: "s_1", found: "s_2"))
        )
    }

    @Test func breakDescriptionSaysWhatIsWrong() {
        #expect(
            ChainBreak.sequence(expected: 2, found: 3).description
                == "expected seq 2 but found 3: the record has a gap or does not start at 1"
        )
    }
}

/// FIPS 180-4 SHA-256 in plain Swift, for tests only (the product uses libcrypto via RelayMedia).
enum TestSHA256 {
    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    @Sendable static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        var data = message
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        let bitLength = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: bitLength >> shift)) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        var w = [UInt32](repeating: 0, count: 64)
        for block in stride(from: 0, to: data.count, by: 64) {
            for t in 0..<16 {
                w[t] = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(data[block + 4 * t + $1]) }
            }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for t in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
    }

    static func hex(_ text: String) -> String {
        hash(Array(text.utf8)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
