import Foundation
import RelayClient
import RelayCore
import RelayMedia
import Testing

/// `kill -9` and restart of the real executable on the same data folder (ARCHITECTURE "Lifecycle", D4).
@Suite(
    "Crash safety of the built binary (PROTOCOL §3, §8)",
    .enabled(
        if: ChildRelay.executable != nil,
        "no windowrelay executable beside the test bundle; build it (swift build) or set WINDOWRELAY_BIN"
    )
)
struct RestartCrashTests {
    static let authority = TokenAuthority(secret: Array(TestRelay.secret.utf8))

    static func device(
        _ client: ClientLoop,
        _ relay: ChildRelay,
        _ sub: String,
        _ role: Role,
        unit: String
    ) async throws
        -> Device
    {
        let now = Int64(Date().timeIntervalSince1970)
        let token = authority.sign(TokenClaims(sub: sub, role: role, unit: unit, exp: now + 3600, iat: now))
        return try await Device.hello(client: client, port: relay.port, sub: sub, token: token)
    }

    @Test func aKilledRelayComesBackWithEveryAcknowledgedEventAndAVerifiableRecord() async throws {
        let executable = try #require(ChildRelay.executable)
        let directory = TestRelay.temporaryDirectory()
        let config = try ChildRelay.writeConfiguration(
            in: directory,
            dataDir: directory + "/data",
            extra: ["sessions": ["reconnectGraceSeconds": "60"]]
        )
        let client = try ClientLoop()
        defer { client.shutdown() }

        let first = try await ChildRelay(executable: executable, configPath: config)
        let clerk = try await Self.device(client, first, "clerk-qd", .clerk, unit: "qd-xihaian")
        let approver = try await Self.device(client, first, "approver-cd", .approver, unit: "cd-gaoxin")
        let sid = try await SessionReplayTests.activeSession(clerk: clerk, approver: approver)
        try await SessionReplayTests.chat(clerk, sid, count: 10, prefix: "clerk")
        try await SessionReplayTests.chat(approver, sid, count: 10, prefix: "approver")
        // Every event the clerk has seen was acknowledged to someone: all of them must survive.
        try await clerk.barrier()
        let acknowledged = clerk.events(of: sid)
        let n = acknowledged.count
        #expect(acknowledged.map(Wire.seq) == Array(1...n))
        #expect(acknowledged.filter { $0["type"] == "chat" }.count == 20)

        try await first.crash()
        #expect(first.process.terminationReason == .uncaughtSignal)

        let second = try await ChildRelay(executable: executable, configPath: config)
        let approverAgain = try await Self.device(client, second, "approver-cd", .approver, unit: "cd-gaoxin")
        let joinA = approverAgain.send("session.join", ["sessionId": .string(sid), "lastSeq": 0])
        let joinedA = try await approverAgain.reply(to: joinA)
        #expect(joinedA["result"]?["session"]?["state"] == "active")
        #expect(joinedA["result"]?["replayed"] == true)
        #expect(joinedA["result"]?["lastSeq"]?.intValue == n + 3)

        let clerkAgain = try await Self.device(client, second, "clerk-qd", .clerk, unit: "qd-xihaian")
        let joinB = clerkAgain.send("session.join", ["sessionId": .string(sid), "lastSeq": 0])
        let joinedB = try await clerkAgain.reply(to: joinB)
        #expect(joinedB["result"]?["lastSeq"]?.intValue == n + 4)
        let presence = (joinedB["result"]?["participants"]?.arrayValue ?? []).map { $0["presence"]?.stringValue ?? "" }
        #expect(presence == ["present", "present"])

        // The returning clerk is announced to the approver, live.
        let clerkBack = try await approverAgain.next {
            $0["type"] == "participant.back" && $0["participant"]?["id"] == "clerk-qd"
        }
        #expect(clerkBack["participant"]?["id"] == "clerk-qd")
        #expect(Wire.seq(clerkBack) == n + 4)

        // Chat still works after the restart.
        try await approverAgain.ok("chat.send", ["sessionId": .string(sid), "text": "after restart"])
        let chat = try await clerkAgain.next { $0["type"] == "chat" && $0["text"] == "after restart" }
        #expect(Wire.seq(chat) == n + 5)

        try await clerkAgain.barrier()
        let replay = clerkAgain.received(after: joinB).filter { $0["seq"] != nil }
        #expect(replay.map(Wire.seq) == Array(1...n + 5))
        #expect(Array(replay.prefix(n)) == acknowledged)
        // After a restart everyone present was away; each came back by joining.
        let restart = replay.dropFirst(n).prefix(4)
        #expect(
            restart.map { $0["type"]?.stringValue ?? "" } == [
                "participant.away", "participant.away", "participant.back", "participant.back",
            ]
        )
        #expect(
            Set(restart.prefix(2).compactMap { $0["participant"]?["id"]?.stringValue }) == ["clerk-qd", "approver-cd"]
        )
        #expect(restart.prefix(2).allSatisfy { $0["actor"] == "server" })
        #expect(
            restart.dropFirst(2).map { $0["participant"]?["id"]?.stringValue ?? "" } == ["approver-cd", "clerk-qd"]
        )

        #expect(try await second.stop() == 0)
        try await Self.checkVerify(executable, config: config, sid: sid)
    }

    /// `record verify`: 0 and "ok" for the intact record, 2 for an unknown session.
    static func checkVerify(_ executable: URL, config: String, sid: String) async throws {
        let verified = try await ChildRelay.run(executable, ["record", "verify", sid, "--config", config])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.hasPrefix("ok"))
        #expect(verified.stdout.contains(sid))

        let unknown = try await ChildRelay.run(executable, ["record", "verify", "s_nosuchsession", "--config", config])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("s_nosuchsession"))
    }

    /// Python's sqlite3 module edits the stored record as an attacker with file access could (the test target
    /// has no SQLite library of its own; the store keeps its pages in the WAL, whose checksums a byte patch
    /// would break).
    static let python3: URL? = ["/usr/bin/python3", "/usr/local/bin/python3"].map(URL.init(fileURLWithPath:))
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    @Test(.enabled(if: python3 != nil, "python3 (with its sqlite3 module) is needed to alter the stored record"))
    func recordVerifyFindsTheFirstAlteredEvent() async throws {
        let executable = try #require(ChildRelay.executable)
        let directory = TestRelay.temporaryDirectory()
        let config = try ChildRelay.writeConfiguration(in: directory, dataDir: directory + "/data")
        let client = try ClientLoop()
        defer { client.shutdown() }
        let relay = try await ChildRelay(executable: executable, configPath: config)
        let clerk = try await Self.device(client, relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let sid = try Wire.sessionId(try await clerk.ok("session.create", Wire.create("cd-gaoxin")))
        try await SessionReplayTests.chat(clerk, sid, count: 3, prefix: "original")
        let altered = try await clerk.next { $0["type"] == "chat" && $0["text"] == "original 2" }
        #expect(try await relay.stop() == 0)

        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            n = db.execute("UPDATE event SET data = replace(data, 'original 2', 'tampered 2') "
                           "WHERE sessionId = ? AND seq = ?", (sys.argv[2], int(sys.argv[3]))).rowcount
            db.commit()
            db.close()
            print(n)
            """
        let python = try #require(Self.python3)
        let edit = try await ChildRelay.run(
            python,
            ["-c", script, directory + "/data/relay.sqlite", sid, String(Wire.seq(altered))]
        )
        #expect(edit.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(edit.stderr)")

        let verified = try await ChildRelay.run(executable, ["record", "verify", sid, "--config", config])
        #expect(verified.status == 1)
        #expect(verified.stderr.contains("chain broken at seq \(Wire.seq(altered))"), "\(verified.stderr)")
    }
}
