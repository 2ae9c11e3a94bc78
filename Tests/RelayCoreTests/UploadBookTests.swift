import RelayCore
import Testing

@Suite("Upload bookkeeping: offers, offsets, resume, limits, progress, expiry")
struct UploadBookTests {
    static let pdf = Array("%PDF-1.7\n".utf8)
    static let rules = UploadRules(
        maxBytes: 10_000,
        allowedTypes: ["application/pdf", "image/png"],
        chunkMax: 1000,
        maxOpenPerParticipant: 2,
        maxBytesPerSession: 25_000,
        partialTtlMillis: 60_000,
        progressEvery: 2000
    )
    static let sha = String(repeating: "ab", count: 32)

    static func offer(
        _ size: Int = 5000,
        sha: String = sha,
        session: String = "s_1",
        mime: String = "application/pdf"
    )
        -> DocumentOffer
    {
        DocumentOffer(sessionId: session, name: "营业执照.pdf", mime: mime, size: size, sha256: sha)
    }

    /// An upload of `a.pdf` (5000 bytes) held before a restart with `received` bytes on disk.
    static func held(id: UInt32, received: Int) -> Upload {
        Upload(
            UploadTerms(
                id: id, sessionId: "s_1", owner: "u1", name: "a.pdf", mime: "application/pdf", size: 5000,
                sha256: sha, createdAt: 0),
            received: received)
    }

    static func chunk(_ count: Int, first: Bool = false) -> [UInt8] {
        first ? pdf + [UInt8](repeating: 7, count: count - pdf.count) : [UInt8](repeating: 7, count: count)
    }

    @Test func aNewOfferStartsAtZeroWithTheChunkLimit() throws {
        var book = UploadBook(rules: Self.rules, nextId: 7)
        let decision = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 0)
        #expect(!decision.resumed)
        #expect(decision.reply(chunkMax: 1000) == ["upload": 7, "offset": 0, "chunkMax": 1000])
        #expect(book.nextId == 8)
    }

    @Test func chunksMustComeAtTheCurrentEndAndTheWrongOffsetIsAConflictWithExpected() throws {
        var book = UploadBook(rules: Self.rules)
        let id = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 0).upload.id
        #expect(
            book.chunk(upload: id, offset: 0, payload: Self.chunk(1000, first: true), from: "u1", now: 1)
                == .accepted(book.upload(id)!, offset: 0, finishes: false)
        )
        let refusal = try #require(
            book.chunk(upload: id, offset: 0, payload: Self.chunk(10), from: "u1", now: 2).refusal,
            "a repeated chunk was accepted")
        #expect(refusal.code == .conflict)
        #expect(refusal.details["expected"] == 1000)
        #expect(refusal.details["upload"] == .number(Double(id)))
        let ahead = try #require(
            book.chunk(upload: id, offset: 3000, payload: Self.chunk(10), from: "u1", now: 2).refusal,
            "a chunk past the end was accepted")
        #expect(ahead.details["expected"] == 1000)
        #expect(book.upload(id)?.received == 1000)
    }

    @Test func theSameParticipantOfferingTheSameFileResumesWhereTheServerIs() throws {
        var book = UploadBook(rules: Self.rules)
        let id = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 0).upload.id
        _ = book.chunk(upload: id, offset: 0, payload: Self.chunk(1000, first: true), from: "u1", now: 1)
        _ = book.chunk(upload: id, offset: 1000, payload: Self.chunk(500), from: "u1", now: 2)
        let again = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 3)
        #expect(again.resumed)
        #expect(again.upload.id == id)
        #expect(again.reply(chunkMax: 1000)["offset"] == 1500)
    }

    @Test func anotherParticipantOrSessionOrFileGetsItsOwnUpload() throws {
        var book = UploadBook(rules: UploadRules(maxOpenPerParticipant: 5))
        let first = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 0).upload.id
        #expect(try book.offer(Self.offer(), by: "u2", storedBytes: 0, now: 0).upload.id != first)
        #expect(try book.offer(Self.offer(session: "s_2"), by: "u1", storedBytes: 0, now: 0).upload.id != first)
        let other = String(repeating: "cd", count: 32)
        #expect(try book.offer(Self.offer(sha: other), by: "u1", storedBytes: 0, now: 0).upload.id != first)
    }

    @Test func someoneElsesChunksAreNotFound() throws {
        var book = UploadBook(rules: Self.rules)
        let id = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 0).upload.id
        let r = try #require(
            book.chunk(upload: id, offset: 0, payload: Self.pdf, from: "u2", now: 1).refusal, "accepted")
        #expect(r.code == .notFound)
        let unknown = try #require(
            book.chunk(upload: 99, offset: 0, payload: Self.pdf, from: "u1", now: 1).refusal, "accepted")
        #expect(unknown.code == .notFound)
    }

    @Test func aResumeAfterARestartContinuesFromTheBytesOnDisk() throws {
        var book = UploadBook(rules: Self.rules, nextId: 12)
        book.restore(Self.held(id: 10, received: 3000))
        let again = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 5)
        #expect(again.resumed && again.upload.id == 10 && again.upload.received == 3000)
        #expect(
            book.chunk(upload: 10, offset: 3000, payload: Self.chunk(1000), from: "u1", now: 6)
                == .accepted(book.upload(10)!, offset: 3000, finishes: false)
        )
        #expect(book.nextId == 12)
    }

    @Test func aRestoredUploadWithEveryByteIsVerifiedWhenOfferedAgain() throws {
        var book = UploadBook(rules: Self.rules)
        book.restore(Self.held(id: 3, received: 5000))
        #expect(book.nextId == 4)
        let again = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 5)
        #expect(again.finishNow)
        #expect(book.upload(3)?.phase == .verifying)
    }

    @Test func theLastChunkFinishesTheUploadAndFurtherChunksWaitForVerification() throws {
        var book = UploadBook(rules: Self.rules)
        let id = try book.offer(Self.offer(1500), by: "u1", storedBytes: 0, now: 0).upload.id
        _ = book.chunk(upload: id, offset: 0, payload: Self.chunk(1000, first: true), from: "u1", now: 1)
        guard
            case .accepted(let upload, 1000, true) = book.chunk(
                upload: id,
                offset: 1000,
                payload: Self.chunk(500),
                from: "u1",
                now: 2
            )
        else {
            Issue.record("the last chunk did not finish the upload")
            return
        }
        #expect(upload.phase == .verifying)
        let r = try #require(book.chunk(upload: id, offset: 1500, payload: [1], from: "u1", now: 3).refusal, "accepted")
        #expect(r.code == .invalidState)
    }

    @Test func aChunkOverChunkMaxOrPastTheOfferedSizeIsTooLarge() throws {
        var book = UploadBook(rules: Self.rules)
        let id = try book.offer(Self.offer(1200), by: "u1", storedBytes: 0, now: 0).upload.id
        let big = try #require(
            book.chunk(upload: id, offset: 0, payload: Self.chunk(1001, first: true), from: "u1", now: 1).refusal,
            "accepted")
        #expect(big.code == .tooLarge)
        _ = book.chunk(upload: id, offset: 0, payload: Self.chunk(1000, first: true), from: "u1", now: 1)
        let past = try #require(
            book.chunk(upload: id, offset: 1000, payload: Self.chunk(300), from: "u1", now: 2).refusal, "accepted")
        #expect(past.code == .tooLarge)
    }

    @Test func leadingBytesThatAreNotTheDeclaredTypeFailTheUpload() throws {
        var book = UploadBook(rules: Self.rules)
        let id = try book.offer(Self.offer(mime: "image/png"), by: "u1", storedBytes: 0, now: 0).upload.id
        guard
            case .failed(let upload, .unsupportedType) = book.chunk(
                upload: id,
                offset: 0,
                payload: Self.chunk(100, first: true),
                from: "u1",
                now: 1
            )
        else {
            Issue.record("a PDF passed as PNG")
            return
        }
        #expect(upload.id == id)
        #expect(book.upload(id) == nil)
    }

    @Test func offersAreCheckedForSizeTypeOpenUploadsAndSessionBytes() throws {
        var book = UploadBook(rules: Self.rules)
        #expect(throws: Refusal.self) { try book.offer(Self.offer(10_001), by: "u1", storedBytes: 0, now: 0) }
        #expect(refusal { try book.offer(Self.offer(10_001), by: "u1", storedBytes: 0, now: 0) }?.code == .tooLarge)
        #expect(
            refusal { try book.offer(Self.offer(mime: "image/gif"), by: "u1", storedBytes: 0, now: 0) }?.code
                == .unsupportedType
        )
        _ = try book.offer(Self.offer(sha: String(repeating: "01", count: 32)), by: "u1", storedBytes: 0, now: 0)
        _ = try book.offer(Self.offer(sha: String(repeating: "02", count: 32)), by: "u1", storedBytes: 0, now: 0)
        #expect(
            refusal {
                try book.offer(
                    Self.offer(sha: String(repeating: "03", count: 32)),
                    by: "u1",
                    storedBytes: 0,
                    now: 0
                )
            }?.code == .rateLimited
        )
        // A resume is not a new upload: it passes the open-uploads limit.
        #expect(
            try book.offer(Self.offer(sha: String(repeating: "01", count: 32)), by: "u1", storedBytes: 0, now: 0)
                .resumed
        )
        // 10 000 open in s_1 + 14 000 stored + 5 000 > 25 000.
        #expect(refusal { try book.offer(Self.offer(), by: "u2", storedBytes: 14_000, now: 0) }?.code == .tooLarge)
        #expect(try book.offer(Self.offer(), by: "u2", storedBytes: 10_000, now: 0).resumed == false)
    }

    @Test func progressGoesOutEveryProgressEveryBytesAndAtTheEnd() throws {
        var book = UploadBook(rules: Self.rules)
        let id = try book.offer(Self.offer(4500), by: "u1", storedBytes: 0, now: 0).upload.id
        var sent: [Int] = []
        var offset = 0
        for size in [1000, 1000, 1000, 1000, 500] {
            _ = book.chunk(
                upload: id,
                offset: UInt64(offset),
                payload: Self.chunk(size, first: offset == 0),
                from: "u1",
                now: 1
            )
            offset += size
            #expect(book.queuedBytes(owner: "u1") == size)
            if let p = book.written(upload: id, through: offset) { sent.append(p["received"]!.intValue!) }
            #expect(book.queuedBytes(owner: "u1") == 0)
        }
        #expect(sent == [2000, 4000, 4500])
    }

    @Test func staleUploadsAndThoseOfSessionsThatAreOverExpire() throws {
        var book = UploadBook(rules: Self.rules)
        let old = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 0).upload.id
        let fresh = try book.offer(Self.offer(session: "s_2"), by: "u1", storedBytes: 0, now: 50_000).upload.id
        let gone = try book.offer(Self.offer(session: "s_3"), by: "u2", storedBytes: 0, now: 50_000).upload.id
        let dropped = book.expire(now: 60_000) { session, _ in session != "s_3" }
        #expect(Set(dropped.map(\.id)) == [old, gone])
        #expect(book.upload(fresh) != nil && book.upload(old) == nil)
        // The key is gone with it: the same offer starts again from zero.
        let again = try book.offer(Self.offer(), by: "u1", storedBytes: 0, now: 60_001)
        #expect(!again.resumed && again.upload.received == 0)
    }

    @Test func offerFieldsAreChecked() {
        func parse(_ body: [String: JSONValue]) -> Refusal? {
            do {
                _ = try DocumentOffer.parse(body)
                return nil
            } catch { return error }
        }
        let good: [String: JSONValue] = [
            "sessionId": "s_1", "name": "../../etc/passwd.pdf", "mime": "application/pdf", "size": 10,
            "sha256": .string(String(repeating: "AB", count: 32)),
        ]
        #expect(parse(good) == nil)
        #expect((try? DocumentOffer.parse(good))?.sha256 == Self.sha)
        for (field, value) in [
            ("size", JSONValue(0)), ("size", "10"), ("sha256", "abc"), ("name", "a\nb"),
            ("name", ""), ("mime", .null), ("sessionId", 5),
        ] {
            var body = good
            body[field] = value
            #expect(parse(body)?.code == .badRequest, "\(field) = \(value)")
            #expect(parse(body)?.details["field"] == .string(field))
        }
    }

    @Test func onlyPresentParticipantsOfAnActiveSessionSendDocuments() throws {
        var f = SessionFixture()
        let queued = try f.created()
        #expect(
            refusalOf { try f.book.checkDocumentSender(SessionPeople.clerkA, sessionId: queued) }?.code
                == .invalidState
        )
        let id = try f.active()
        try f.book.checkDocumentSender(SessionPeople.clerkA, sessionId: id)
        try f.book.checkDocumentSender(SessionPeople.approverB, sessionId: id)
        #expect(refusalOf { try f.book.checkDocumentSender(SessionPeople.clerkC, sessionId: id) }?.code == .forbidden)
        #expect(refusalOf { try f.book.checkDocumentSender(SessionPeople.ops, sessionId: id) }?.code == .forbidden)
        #expect(refusalOf { try f.book.checkDocumentSender(SessionPeople.clerkA, sessionId: "s_x") }?.code == .notFound)
    }

    private func refusal(_ body: () throws -> OfferDecision) -> Refusal? {
        do {
            _ = try body()
            return nil
        } catch { return error as? Refusal }
    }

    private func refusalOf(_ body: () throws -> Void) -> Refusal? {
        do {
            try body()
            return nil
        } catch { return error as? Refusal }
    }
}

extension ChunkDecision {
    /// The refusal, when the chunk was refused.
    var refusal: Refusal? {
        if case .refused(let refusal) = self { return refusal }
        return nil
    }
}
