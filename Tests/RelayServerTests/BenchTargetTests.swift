import Foundation
import RelayClient
import RelayCore
import RelayTransport
import Testing

@Suite("Load targets: the C reference relays and their traffic shapes")
struct BenchTargetTests {
    let base = ClientEndpoint(host: "127.0.0.1", port: 9000)

    @Test func theCRelayGivesEverySessionItsOwnRoom() {
        let endpoint = LoadTarget.cRelay.endpoint(session: 41, base: base)
        #expect(endpoint.path == "/room/41")
        #expect(endpoint.subprotocol == nil)
        #expect(LoadTarget.cRelay.receiversPerPacket(sessions: 500, parties: 2) == 1)
        #expect(LoadTarget.cRelay.receiversPerPacket(sessions: 500, parties: 3) == 2)
        #expect(!LoadTarget.cRelay.echoesToSender)
    }

    @Test func theMirrorSharesItsThreeRoomsAndAsksForItsSubprotocol() {
        let endpoint = LoadTarget.lwsMirror.endpoint(session: 7, base: base)
        #expect(endpoint.path == "/?mirror=wr1")
        #expect(endpoint.subprotocol == "lws-mirror-protocol")
        #expect(endpoint.port == 9000)
        #expect((0..<6).map { LoadTarget.lwsMirror.room(ofSession: $0) } == [0, 1, 2, 0, 1, 2])
    }

    @Test func theMirrorOwesEveryRoomMemberEachPacketTheSenderIncluded() {
        // One session a room: both parties get it, the sender's echo included.
        #expect(LoadTarget.lwsMirror.receiversPerPacket(sessions: 3, parties: 2) == 2)
        #expect(LoadTarget.lwsMirror.receiversPerPacket(sessions: 1, parties: 3) == 3)
        // 15 sessions: 5 a room, 10 members.
        #expect(LoadTarget.lwsMirror.receiversPerPacket(sessions: 15, parties: 2) == 10)
        #expect(LoadTarget.lwsMirror.echoesToSender)
    }

    @Test func unequalMirrorRoomsAndSeveralLoopsAreRefused() {
        #expect(LoadTarget.lwsMirror.check(sessions: 4, loops: 1) != nil)
        #expect(LoadTarget.lwsMirror.check(sessions: 6, loops: 2) != nil)
        #expect(LoadTarget.lwsMirror.check(sessions: 6, loops: 1) == nil)
        #expect(LoadTarget.lwsMirror.check(sessions: 2, loops: 1) == nil)
        #expect(LoadTarget.cRelay.check(sessions: 7, loops: 3) == nil)
    }

    @Test func aPlanOwesWhatItsTargetSays() {
        let plan = LoadPlan(endpoint: base, sessions: 15, runTag: "t", packets: [[1]], target: .lwsMirror)
        #expect(plan.receiversPerPacket == 10)
        let relay = LoadPlan(endpoint: base, sessions: 15, parties: 3, runTag: "t", packets: [[1]])
        #expect(relay.target == .windowrelay)
        #expect(relay.receiversPerPacket == 2)
    }

    @Test func mirrorTextCarriesTrackAndSequence() {
        let text = MirrorAudioText.encode(track: 0xBEEF, seq: 513, timestamp: 960, payload: Array("QUJD".utf8))
        #expect(String(decoding: text, as: UTF8.self) == "01beef0201000003c0QUJD")
        let header = text.withUnsafeBytes { MirrorAudioText.decode($0) }
        #expect(header?.track == 0xBEEF)
        #expect(header?.seq == 513)
    }

    @Test func mirrorTextThatIsNotOursIsNotAFrame() {
        for text in ["", "02beef0201000003c0", "01beeg0201000003c0QUJD", "01BEEF0201000003c0", "01beef02"] {
            #expect(Array(text.utf8).withUnsafeBytes { MirrorAudioText.decode($0) } == nil, "\(text)")
        }
    }

    @Test func base64IsRFC4648() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE="]
        for (plain, encoded) in vectors {
            #expect(String(decoding: MirrorAudioText.base64(Array(plain.utf8)), as: UTF8.self) == encoded)
        }
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        #expect(String(decoding: MirrorAudioText.base64(bytes), as: UTF8.self) == Data(bytes).base64EncodedString())
    }

    @Test func binaryFramesReadBackTheirHeader() {
        let frame = LoadFrame.binary(track: 3, seq: 0xFFFE, timestamp: 7, packet: [0xAA, 0xBB])
        #expect(Array(frame.bytes) == [0x01, 0, 3, 0xFF, 0xFE, 0, 0, 0, 7, 0xAA, 0xBB])
        let header = LoadFrame.header(frame.bytes, binary: true, mirror: false)
        #expect(header?.track == 3)
        #expect(header?.seq == 0xFFFE)
        // Text is a frame only from the mirror; a bare header without Opus is none.
        #expect(LoadFrame.header(frame.bytes, binary: false, mirror: false) == nil)
        #expect([UInt8]([1, 0, 3, 0, 1, 0, 0, 0, 7]).withUnsafeBytes {
            LoadFrame.header($0, binary: true, mirror: false)
        } == nil)
    }

    @Test func theJSONLineHoldsCountsLatenciesAndTheServersCost() throws {
        var tally = LoadTally(sent: 1_000, receiversPerPacket: 2, delivered: 1_990)
        tally.measuredSeconds = 10
        tally.sendingSeconds = 10
        let report = LoadReport(
            title: "t",
            tally: tally,
            latency: LatencySummary(count: 1_990, p50: 100_000, p99: 2_000_000, p999: 3_000_000, max: 9_000_000),
            server: ServerUsage(cpuSeconds: 0.398, rssBeforeBytes: 1 << 20, rssAfterBytes: 3 << 20, connections: 4),
            generatorCPUSeconds: 1.5
        )
        let json = report.json(run: ["target": "c-relay", "sessions": 2])
        #expect(json["run"]?["target"]?.stringValue == "c-relay")
        #expect(json["expected"]?.intValue == 2_000)
        #expect(json["lost"]?.intValue == 10)
        #expect(json["deliveriesPerSecond"]?.intValue == 199)
        #expect(json["latencyNanos"]?["p99"]?.intValue == 2_000_000)
        let micros = try #require(json["server"]?["microsPerDelivery"]?.doubleValue)
        #expect(abs(micros - 200) < 1e-9)
        #expect(json["server"]?["cpuShare"]?.doubleValue == 0.0398)
        #expect(json["generatorCPUSeconds"]?.doubleValue == 1.5)
    }
}
