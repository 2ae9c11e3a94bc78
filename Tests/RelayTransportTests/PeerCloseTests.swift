import Testing

@testable import RelayTransport

@Suite("Close frames from the peer (RFC 6455 §5.5.1)")
struct PeerCloseTests {
    private func close(_ bytes: [UInt8]) -> PeerClose {
        bytes.withUnsafeBytes { PeerClose(payload: $0) }
    }

    @Test func aCodeAndAUTF8ReasonAreRead() {
        let parsed = close([0x03, 0xE8] + Array("κόσμε bye".utf8))
        #expect(parsed.code == 1000)
        #expect(parsed.reason == "κόσμε bye")
        #expect(!parsed.hasInvalidReason)
    }

    @Test func anEmptyPayloadHasNoCode() {
        #expect(close([]).code == nil)
        #expect(!close([]).hasInvalidReason)
    }

    // Autobahn 7.5.1: the reason is κόσμε followed by a surrogate half (ED A0 80), then "edited".
    @Test func aReasonThatIsNotUTF8IsFlaggedSoTheConnectionFailsWith1007() {
        let bytes: [UInt8] = [
            0x03, 0xE8, 0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80,
        ]
        let parsed = close(bytes + Array("edited".utf8))
        #expect(parsed.code == 1000)
        #expect(parsed.hasInvalidReason)
        #expect(parsed.reason.isEmpty)
    }
}
