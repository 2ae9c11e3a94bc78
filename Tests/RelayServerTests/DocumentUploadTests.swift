import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Document uploads (PROTOCOL §4)", .serialized)
struct DocumentUploadTests {
    @Test func aTwentyMebibyteDocumentGoesEachWayWithProgressAndArrivesIntact() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let directions = [(s.clerk, s.approver, "clerk-1", UInt64(1)), (s.approver, s.clerk, "appr-1", UInt64(2))]
        for (sender, receiver, sub, seed) in directions {
            let file = TestFile.pdf(20 << 20, seed: seed)
            let ok = try await s.offer(sender, file)
            #expect(ok["result"]?["offset"] == 0)
            #expect(ok["result"]?["chunkMax"] == 262_144)
            let upload = try #require(ok["result"]?["upload"]?.intValue)
            sender.sendChunks(upload: upload, file.bytes)
            let outcome = try await sender.awaitUploadEnd(upload: upload, sha256: file.sha256)
            #expect(outcome.errors.isEmpty, "\(outcome.errors)")
            #expect(outcome.failed == nil)
            // doc.progress at least every MiB, in order, and at the end.
            let received = outcome.progress.compactMap { $0["received"]?.intValue }
            #expect(received.last == file.bytes.count)
            #expect(
                zip([0] + received, received).allSatisfy { previous, next in
                    next > previous && next - previous <= 1 << 20
                }
            )
            #expect(outcome.progress.allSatisfy { $0["size"]?.intValue == file.bytes.count })
            let available = try #require(outcome.available)
            let seen = try await receiver.next(type: "doc.available")
            #expect(seen == available)
            let document = try #require(available["document"])
            #expect(available["sessionId"]?.stringValue == s.sessionId)
            #expect(available["actor"]?.stringValue == sub)
            #expect(available["seq"]?.intValue != nil)
            #expect(document["from"]?.stringValue == sub)
            #expect(document["name"] == "营业执照.pdf")
            #expect(document["mime"] == "application/pdf")
            #expect(document["size"]?.intValue == file.bytes.count)
            #expect(document["sha256"]?.stringValue == file.sha256)
            let id = try #require(document["id"]?.stringValue)
            #expect(id.hasPrefix("d_"))
            let receiverSub =
                sub == "clerk-1" ? ("appr-1", Role.approver, "cd-gaoxin") : ("clerk-1", .clerk, "qd-xihaian")
            let token = relay.token(receiverSub.0, receiverSub.1, unit: receiverSub.2)
            let got = try relay.download(
                "/v1/sessions/\(s.sessionId)/documents/\(id)",
                headers: ["Authorization": "Bearer \(token)"]
            )
            #expect(got.status == 200)
            #expect(file.matches(got.body))
        }
        // 20 MiB sent at once is over limits.bytesPerSecond (8 MiB): the uploader was paced, not refused.
        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        #expect(!metrics.contains("windowrelay_upload_pauses_total 0"))
        #expect(metrics.contains("windowrelay_upload_pauses_total"))
        let stored = try FileManager.default.contentsOfDirectory(atPath: relay.dataDir + "/documents")
        #expect(stored.count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: relay.dataDir + "/uploads").isEmpty)
    }

    @Test func anApplicantSendsADocumentAndStaffReceiveIt() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let granted = try await s.clerk.request([
            "type": "session.applicantToken", "id": "t", "sessionId": .string(s.sessionId), "ttlSeconds": 600,
        ])
        let token = try #require(granted["result"]?["token"]?.stringValue)
        let applicant = try await DocumentSession.hello(relay, s.loop, token)
        let joined = try await applicant.request(["type": "session.join", "id": "j", "sessionId": .string(s.sessionId)])
        #expect(joined["type"] == "ok")
        let file = TestFile(
            name: "身份证.png",
            mime: "image/png",
            bytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 9, count: 4000)
        )
        let upload = try #require(try await s.offer(applicant, file)["result"]?["upload"]?.intValue)
        applicant.sendChunks(upload: upload, file.bytes)
        let outcome = try await applicant.awaitUploadEnd(upload: upload, sha256: file.sha256)
        let from = outcome.available?["document"]?["from"]?.stringValue
        #expect(from?.hasPrefix("applicant-") == true)
        for staff in [s.clerk, s.approver] {
            #expect(try await staff.next(type: "doc.available")["document"]?["from"]?.stringValue == from)
        }
    }

    @Test func anotherSessionKeepsWorkingWhileAFastUploadRuns() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let other = try await DocumentSession.open(relay, clerk: "clerk-2", approver: "appr-2")
        let file = TestFile.pdf(20 << 20, seed: 3)
        let upload = try #require(try await s.offer(s.clerk, file)["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes)
        for i in 0..<5 {
            let reply = try await other.clerk.request([
                "type": "chat.send", "id": .string("c\(i)"), "sessionId": .string(other.sessionId), "text": "hello",
            ])
            #expect(reply["type"] == "ok")
        }
        let outcome = try await s.clerk.awaitUploadEnd(upload: upload, sha256: file.sha256)
        #expect(outcome.available != nil)
    }

    @Test func anUploadResumesAfterTheConnectionDrops() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(3 << 20, seed: 4)
        let upload = try #require(try await s.offer(s.clerk, file)["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes, upTo: 6 * 262_144)
        let progress = try await s.clerk.next(type: "doc.progress")
        #expect(progress["received"] == 1_048_576)
        s.clerk.close()
        _ = try await s.approver.next(type: "participant.away")

        let clerk = try await s.rejoin(relay, "clerk-1", .clerk, unit: "qd-xihaian")
        let again = try await s.offer(clerk, file)
        #expect(again["result"]?["upload"]?.intValue == upload)
        let offset = try #require(again["result"]?["offset"]?.intValue)
        #expect(offset >= 1_048_576 && offset <= 6 * 262_144 && offset % 262_144 == 0)
        clerk.sendChunks(upload: upload, file.bytes, from: offset)
        let outcome = try await clerk.awaitUploadEnd(upload: upload, sha256: file.sha256)
        #expect(outcome.errors.isEmpty)
        #expect(outcome.progress.last?["received"]?.intValue == file.bytes.count)
        let id = try #require(outcome.available?["document"]?["id"]?.stringValue)
        let token = relay.token("appr-1", .approver, unit: "cd-gaoxin")
        let got = try relay.download(
            "/v1/sessions/\(s.sessionId)/documents/\(id)",
            headers: ["Authorization": "Bearer \(token)"]
        )
        #expect(file.matches(got.body))
    }

    @Test func anUploadResumesAfterTheServerRestartsOnTheSameData() async throws {
        let dataDir = TestRelay.temporaryDirectory()
        let first = try TestRelay(dataDir: dataDir)
        let s = try await DocumentSession.open(first)
        let file = TestFile.pdf(2 << 20, seed: 5)
        let upload = try #require(try await s.offer(s.clerk, file)["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes, upTo: 1 << 20)
        #expect(try await s.clerk.next(type: "doc.progress")["received"] == 1_048_576)
        first.stopNow()
        s.loop.shutdown()

        let second = try TestRelay(dataDir: dataDir)
        let loop = try ClientLoop()
        let resumed = DocumentSession(
            relay: second,
            loop: loop,
            sessionId: s.sessionId,
            clerk: s.clerk,
            approver: s.approver
        )
        let clerk = try await resumed.rejoin(second, "clerk-1", .clerk, unit: "qd-xihaian")
        let again = try await resumed.offer(clerk, file)
        #expect(again["result"]?["upload"]?.intValue == upload)
        #expect(again["result"]?["offset"] == 1_048_576)
        clerk.sendChunks(upload: upload, file.bytes, from: 1 << 20)
        let outcome = try await clerk.awaitUploadEnd(upload: upload, sha256: file.sha256)
        let id = try #require(outcome.available?["document"]?["id"]?.stringValue)
        let token = second.token("clerk-1", .clerk, unit: "qd-xihaian")
        let got = try second.download(
            "/v1/sessions/\(s.sessionId)/documents/\(id)",
            headers: ["Authorization": "Bearer \(token)"]
        )
        #expect(file.matches(got.body))
        // Upload numbers are never handed out twice, also across restarts.
        let next = try await resumed.offer(clerk, TestFile.pdf(1000, seed: 6))
        #expect((next["result"]?["upload"]?.intValue ?? 0) > upload)
    }

    @Test func theJoinResultAndTheRecordListTheSessionsDocuments() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(100_000, name: "申请表.pdf", seed: 7)
        let upload = try #require(try await s.offer(s.approver, file)["result"]?["upload"]?.intValue)
        s.approver.sendChunks(upload: upload, file.bytes)
        let document = try #require(
            try await s.approver.awaitUploadEnd(upload: upload, sha256: file.sha256).available?["document"]
        )

        let joined = try await s.clerk.request([
            "type": "session.join", "id": "j", "sessionId": .string(s.sessionId), "lastSeq": 1,
        ])
        #expect(joined["result"]?["documents"] == [document])

        let token = relay.token("clerk-1", .clerk, unit: "qd-xihaian")
        let record = try relay.get("/v1/sessions/\(s.sessionId)/record", headers: ["Authorization": "Bearer \(token)"])
        #expect(record.status == 200)
        let manifest = try JSONValue.parse(record.body)
        let entry = try #require(manifest["documents"]?.arrayValue?.first)
        for key in ["id", "name", "mime", "size", "sha256", "from"] { #expect(entry[key] == document[key], "\(key)") }
        #expect(entry["at"]?.stringValue?.hasSuffix("Z") == true)

        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("windowrelay_document_bytes_total 100000"))
        #expect(metrics.contains("windowrelay_documents_total{result=\"available\"} 1"))
    }

    @Test func aNameWithPathTraversalIsOnlyDisplayText() async throws {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(5000, name: "../../etc/passwd.pdf", seed: 8)
        let upload = try #require(try await s.offer(s.clerk, file)["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes)
        let document = try #require(
            try await s.clerk.awaitUploadEnd(upload: upload, sha256: file.sha256).available?["document"]
        )
        #expect(document["name"] == "../../etc/passwd.pdf")
        let files = FileManager.default
        #expect(try files.contentsOfDirectory(atPath: relay.dataDir + "/documents") == [file.sha256])
        let parent = URL(fileURLWithPath: relay.dataDir).deletingLastPathComponent().path
        #expect(!files.fileExists(atPath: parent + "/etc/passwd.pdf"))
        #expect(!files.fileExists(atPath: relay.dataDir + "/etc"))
        let token = relay.token("clerk-1", .clerk, unit: "qd-xihaian")
        let id = try #require(document["id"]?.stringValue)
        let got = try relay.download(
            "/v1/sessions/\(s.sessionId)/documents/\(id)",
            headers: ["Authorization": "Bearer \(token)"]
        )
        #expect(got.headers["content-disposition"]?.contains("filename=\".._.._etc_passwd.pdf\"") == true)
        #expect(file.matches(got.body))
    }
}
