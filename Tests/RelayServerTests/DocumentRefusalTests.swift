import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Document upload refusals (PROTOCOL §4)")
struct DocumentRefusalTests {
    /// Polls a condition the writer thread makes true soon (no timing is asserted).
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<100 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    static func isEmpty(_ path: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).isEmpty
    }

    @Test func aDocumentOverMaxBytesIsTooLargeBeforeAnyByteIsStored() async throws {
        let relay = try TestRelay { $0.docs.maxBytes = 1 << 20 }
        let s = try await DocumentSession.open(relay)
        let reply = try await s.offer(s.clerk, TestFile.pdf((1 << 20) + 1))
        #expect(reply["code"] == "too_large")
        #expect(reply["message"]?.stringValue?.contains("docs.maxBytes") == true)
        #expect(Self.isEmpty(relay.dataDir + "/uploads"))
    }

    @Test func aTypeOutsideAllowedTypesIsUnsupported() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let reply = try await s.offer(s.clerk, TestFile.pdf(1000), name: "scan.gif", mime: "image/gif")
        #expect(reply["code"] == "unsupported_type")
    }

    @Test func leadingBytesThatDoNotMatchTheTypeFailTheUploadAndDropTheBytes() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(600_000)
        let reply = try await s.offer(s.clerk, file, name: "photo.png", mime: "image/png")
        let upload = try #require(reply["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes, upTo: 262_144)
        let failed = try await s.clerk.next(type: "doc.failed")
        #expect(failed["upload"]?.intValue == upload)
        #expect(failed["reason"] == "unsupported_type")
        #expect(await Self.eventually { Self.isEmpty(relay.dataDir + "/uploads") })
        // The upload is gone: its next chunk is not found.
        s.clerk.sendChunks(upload: upload, file.bytes, from: 262_144, upTo: 2 * 262_144)
        #expect(try await s.clerk.next(type: "error")["code"] == "not_found")
    }

    @Test func aWrongOffsetIsAConflictNamingTheExpectedOffset() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(1 << 20)
        let upload = try #require(try await s.offer(s.clerk, file)["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes, upTo: 262_144)
        s.clerk.sendChunks(upload: upload, file.bytes, from: 3 * 262_144)
        let error = try await s.clerk.next(type: "error")
        #expect(error["code"] == "conflict")
        #expect(error["expected"] == 262_144)
        #expect(error["upload"]?.intValue == upload)
        #expect(error["id"] == nil)
        // The upload goes on from where the server is.
        s.clerk.sendChunks(upload: upload, file.bytes, from: 262_144)
        let outcome = try await s.clerk.awaitUploadEnd(upload: upload, sha256: file.sha256)
        #expect(outcome.available != nil)
    }

    @Test func aChecksumMismatchFailsTheUploadWithNoEventAndNoBytesKept() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(700_000)
        let claimed = TestFile.pdf(700_000, seed: 99).sha256
        let upload = try #require(try await s.offer(s.clerk, file, sha256: claimed)["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes)
        let outcome = try await s.clerk.awaitUploadEnd(upload: upload, sha256: claimed)
        #expect(outcome.available == nil)
        #expect(outcome.failed?["reason"] == "checksum_mismatch")
        #expect(Self.isEmpty(relay.dataDir + "/documents"))
        #expect(await Self.eventually { Self.isEmpty(relay.dataDir + "/uploads") })
        let joined = try await s.approver.request([
            "type": "session.join", "id": "j", "sessionId": .string(s.sessionId),
        ])
        #expect(joined["result"]?["documents"] == [])
        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("windowrelay_documents_total{result=\"failed\"} 1"))
    }

    @Test func tooManyOpenUploadsIsRateLimitedAndTooManySessionBytesTooLarge() async throws {
        let relay = try TestRelay {
            $0.limits.maxOpenUploadsPerParticipant = 2
            $0.limits.maxUploadBytesPerSession = 3 << 20
        }
        let s = try await DocumentSession.open(relay)
        #expect(try await s.offer(s.clerk, TestFile.pdf(1 << 20, seed: 1))["type"] == "ok")
        #expect(try await s.offer(s.clerk, TestFile.pdf(1 << 20, seed: 2))["type"] == "ok")
        #expect(try await s.offer(s.clerk, TestFile.pdf(1000, seed: 3))["code"] == "rate_limited")
        // Offering an open upload again resumes it: not a new upload.
        #expect(try await s.offer(s.clerk, TestFile.pdf(1 << 20, seed: 1))["type"] == "ok")
        // 2 MiB open in the session: another 1.5 MiB is past the 3 MiB of the session.
        let big = try await s.offer(s.approver, TestFile.pdf(3 << 19, seed: 4))
        #expect(big["code"] == "too_large")
        #expect(big["message"]?.stringValue?.contains("maxUploadBytesPerSession") == true)
    }

    @Test func onlyPresentParticipantsOfAnActiveSessionMayOffer() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(1000)
        let outsider = try await relay.join("clerk-9", .clerk, unit: "xa-yanta")
        let offer: JSONValue = [
            "type": "doc.offer", "id": "o", "sessionId": .string(s.sessionId), "name": "a.pdf",
            "mime": "application/pdf", "size": 1000, "sha256": .string(file.sha256),
        ]
        #expect(try await outsider.request(offer)["code"] == "forbidden")
        let ops = try await relay.join("ops-1", .ops)
        #expect(try await ops.request(offer)["code"] == "forbidden")
        guard case .object(var unknown) = offer else { return }
        unknown["sessionId"] = "s_unknown"
        #expect(try await s.clerk.request(.object(unknown))["code"] == "not_found")
        unknown["sessionId"] = .string(s.sessionId)
        unknown["sha256"] = "xyz"
        let bad = try await s.clerk.request(.object(unknown))
        #expect(bad["code"] == "bad_request")
        #expect(bad["field"] == "sha256")
        // A queued session takes no documents yet.
        let queued = try await s.clerk.request([
            "type": "session.create", "id": "c2", "service": .string(DocumentSession.service), "toUnit": "cd-gaoxin",
        ])
        unknown["sessionId"] = queued["result"]?["session"]?["id"] ?? .null
        unknown["sha256"] = .string(file.sha256)
        #expect(try await s.clerk.request(.object(unknown))["code"] == "invalid_state")
    }

    @Test func badChunksAreRefusedWithClearErrors() async throws {
        let relay = try TestRelay { $0.docs.chunkMax = 65_536 }
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(200_000)
        let reply = try await s.offer(s.clerk, file)
        #expect(reply["result"]?["chunkMax"] == 65_536)
        let upload = try #require(reply["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes, upTo: 65_537, chunk: 65_537)
        #expect(try await s.clerk.next(type: "error")["code"] == "too_large")
        s.clerk.sendChunks(upload: upload + 1000, file.bytes, upTo: 100)
        #expect(try await s.clerk.next(type: "error")["code"] == "not_found")
        // Someone else's upload is not theirs to feed.
        s.approver.sendChunks(upload: upload, file.bytes, upTo: 100)
        #expect(try await s.approver.next(type: "error")["code"] == "not_found")
        s.clerk.send(binary: [0x02, 0, 0])
        let short = try await s.clerk.next(type: "error")
        #expect(short["code"] == "bad_request")
        #expect(short["message"]?.stringValue?.contains("header") == true)
        s.clerk.send(binary: [0x01, 0, 1, 0, 1, 0, 0, 0, 0, 0xFC])
        let audio = try await s.clerk.next(type: "error")
        #expect(audio["message"]?.stringValue?.contains("audio") == true)
    }
}
