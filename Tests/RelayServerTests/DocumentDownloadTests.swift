import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Document downloads (PROTOCOL §4)")
struct DocumentDownloadTests {
    struct Uploaded {
        var relay: TestRelay
        var session: DocumentSession
        var file: TestFile
        var id: String
        var path: String { "/v1/sessions/\(session.sessionId)/documents/\(id)" }
    }

    static func uploaded(size: Int = 100_000) async throws -> Uploaded {
        let relay = try TestRelay()
        let s = try await DocumentSession.open(relay)
        let file = TestFile.pdf(size)
        let upload = try #require(try await s.offer(s.clerk, file)["result"]?["upload"]?.intValue)
        s.clerk.sendChunks(upload: upload, file.bytes)
        let outcome = try await s.clerk.awaitUploadEnd(upload: upload, sha256: file.sha256)
        let id = try #require(outcome.available?["document"]?["id"]?.stringValue)
        return Uploaded(relay: relay, session: s, file: file, id: id)
    }

    static func bearer(_ relay: TestRelay, _ sub: String, _ role: Role, unit: String? = nil) -> [String: String] {
        ["Authorization": "Bearer \(relay.token(sub, role, unit: unit))"]
    }

    @Test func aParticipantGetsTheWholeDocumentWithItsHeaders() async throws {
        let u = try await Self.uploaded()
        let got = try u.relay.download(u.path, headers: Self.bearer(u.relay, "appr-1", .approver, unit: "cd-gaoxin"))
        #expect(got.status == 200)
        #expect(u.file.matches(got.body))
        #expect(got.headers["content-type"] == "application/pdf")
        #expect(got.headers["content-length"] == "100000")
        #expect(got.headers["etag"] == "\"\(u.file.sha256)\"")
        #expect(got.headers["accept-ranges"] == "bytes")
        #expect(
            got.headers["content-disposition"]
                == "attachment; filename=\"document.pdf\"; filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf"
        )
    }

    @Test func rangesAreAnsweredWith206AndUnsatisfiableOnesWith416() async throws {
        let u = try await Self.uploaded()
        let auth = Self.bearer(u.relay, "clerk-1", .clerk, unit: "qd-xihaian")
        let first = try u.relay.download(u.path, headers: auth.merging(["Range": "bytes=0-99"]) { a, _ in a })
        #expect(first.status == 206)
        #expect(first.headers["content-range"] == "bytes 0-99/100000")
        #expect(first.body == Array(u.file.bytes[0..<100]))
        let middle = try u.relay.download(u.path, headers: auth.merging(["Range": "bytes=50000-"]) { a, _ in a })
        #expect(middle.status == 206)
        #expect(middle.body == Array(u.file.bytes[50_000...]))
        let tail = try u.relay.download(u.path, headers: auth.merging(["Range": "bytes=-10"]) { a, _ in a })
        #expect(tail.headers["content-range"] == "bytes 99990-99999/100000")
        #expect(tail.body == Array(u.file.bytes[99_990...]))
        let beyond = try u.relay.download(u.path, headers: auth.merging(["Range": "bytes=100000-"]) { a, _ in a })
        #expect(beyond.status == 416)
        #expect(beyond.headers["content-range"] == "bytes */100000")
    }

    @Test func ifNoneMatchWithTheETagIsNotModified() async throws {
        let u = try await Self.uploaded()
        var headers = Self.bearer(u.relay, "clerk-1", .clerk, unit: "qd-xihaian")
        headers["If-None-Match"] = "\"\(u.file.sha256)\""
        let got = try u.relay.download(u.path, headers: headers)
        #expect(got.status == 304)
        #expect(got.body.isEmpty)
        headers["If-None-Match"] = "\"something-else\""
        #expect(try u.relay.download(u.path, headers: headers).status == 200)
    }

    @Test func onlyParticipantsWithAValidTokenDownload() async throws {
        let u = try await Self.uploaded(size: 5000)
        #expect(try u.relay.download(u.path).status == 401)
        #expect(try u.relay.download(u.path, headers: ["Authorization": "Bearer nonsense"]).status == 401)
        let outsider = try u.relay.download(u.path, headers: Self.bearer(u.relay, "clerk-9", .clerk, unit: "xa-yanta"))
        #expect(outsider.status == 403)
        #expect(outsider.body.isEmpty == false)
        #expect(try u.relay.download(u.path, headers: Self.bearer(u.relay, "ops-1", .ops)).status == 403)
        let auth = Self.bearer(u.relay, "clerk-1", .clerk, unit: "qd-xihaian")
        let unknownDocument = "/v1/sessions/\(u.session.sessionId)/documents/d_nothing"
        #expect(try u.relay.download(unknownDocument, headers: auth).status == 404)
        #expect(try u.relay.download("/v1/sessions/s_nothing/documents/\(u.id)", headers: auth).status == 404)
    }
}
