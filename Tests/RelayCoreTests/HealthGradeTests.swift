import RelayCore
import Testing

@Suite struct HealthGradeTests {
    @Test(
        arguments: [
            (149.99, Grade.good), (150, .fair), (299.99, .fair), (300, .poor), (0, .good),
        ] as [(Double, Grade)])
    func rttEdges(rtt: Double, grade: Grade) {
        #expect(Grade.of(rttMs: rtt, lossPct: 0, jitterMs: 0, away: false) == grade)
    }

    @Test(arguments: [(1.99, Grade.good), (2, .fair), (4.99, .fair), (5, .poor)] as [(Double, Grade)])
    func lossEdges(loss: Double, grade: Grade) {
        #expect(Grade.of(rttMs: 10, lossPct: loss, jitterMs: 0, away: false) == grade)
    }

    @Test(arguments: [(29.99, Grade.good), (30, .fair), (59.99, .fair), (60, .poor)] as [(Double, Grade)])
    func jitterEdges(jitter: Double, grade: Grade) {
        #expect(Grade.of(rttMs: 10, lossPct: 0, jitterMs: jitter, away: false) == grade)
    }

    @Test func worstPartDecides() {
        #expect(Grade.of(rttMs: 100, lossPct: 3, jitterMs: 10, away: false) == .fair)
        #expect(Grade.of(rttMs: 100, lossPct: 3, jitterMs: 70, away: false) == .poor)
        #expect(Grade.of(rttMs: 400, lossPct: 0, jitterMs: 0, away: false) == .poor)
    }

    @Test func unknownRTTCountsAsGood() {
        #expect(Grade.of(rttMs: nil, lossPct: 0, jitterMs: 0, away: false) == .good)
        #expect(Grade.of(rttMs: nil, lossPct: 2.5, jitterMs: 0, away: false) == .fair)
    }

    @Test func awayWinsWhileGone() {
        #expect(Grade.of(rttMs: 10, lossPct: 0, jitterMs: 0, away: true) == .away)
        #expect(Grade.of(rttMs: 900, lossPct: 50, jitterMs: 200, away: true) == .away)
    }

    @Test func nanIsPoor() {
        #expect(Grade.of(rttMs: .nan, lossPct: 0, jitterMs: 0, away: false) == .poor)
    }

    @Test func sessionGradeIsTheWorst() {
        #expect(Grade.session([.good, .fair, .good]) == .fair)
        #expect(Grade.session([.good, .away]) == .away)
        #expect(Grade.session([.fair, .away]) == .away)
        #expect(Grade.session([.away, .poor]) == .poor)
        #expect(Grade.session([]) == .good)
        #expect([Grade.poor, .away, .good, .fair].sorted() == [.good, .fair, .away, .poor])
        #expect(Grade.away.rawValue == "away")
    }

    @Test func rttIsSmoothedLikeTCP() {
        var rtt = RTTEstimator()
        #expect(rtt.smoothedMs == nil)
        let taken = rtt.record(sentMillis: 1_000, receivedMillis: 1_100)
        #expect(taken)
        #expect(rtt.lastMs == 100)
        #expect(rtt.smoothedMs == 100)
        rtt.record(sentMillis: 1_200, receivedMillis: 1_380)  // 100 + (180 − 100) / 8 = 110
        #expect(rtt.lastMs == 180)
        #expect(rtt.smoothedMs == 110)
        rtt.record(sentMillis: 2_000, receivedMillis: 2_030)  // 110 + (30 − 110) / 8 = 100
        #expect(rtt.smoothedMs == 100)
        let negative = rtt.record(sentMillis: 3_000, receivedMillis: 2_999)
        let notANumber = rtt.record(sentMillis: 3_000, receivedMillis: .nan)
        #expect(!negative)
        #expect(!notANumber)
        #expect(rtt.lastMs == 30)
        #expect(rtt.smoothedMs == 100)
    }

    @Test func pingPayloadLayout() throws {
        let bytes = PingPayload.encode(0x0102_0304_0506_0708)
        // The timestamp big-endian, then FNV-1a-32 of those 8 bytes (0x2804678d) big-endian.
        #expect(bytes == [1, 2, 3, 4, 5, 6, 7, 8, 0x28, 0x04, 0x67, 0x8D])
        #expect(try PingPayload.decode(bytes) == 0x0102_0304_0506_0708)
    }

    @Test(arguments: [0, 1, 1_795_335_302_123, UInt64.max] as [UInt64])
    func pingPayloadRoundTrips(timestamp: UInt64) throws {
        #expect(try PingPayload.decode(PingPayload.encode(timestamp)) == timestamp)
    }

    @Test func pingPayloadRefusesGarbage() {
        let good = PingPayload.encode(42)
        #expect(throws: PingPayloadError.wrongSize(11)) { try PingPayload.decode(good.dropLast()) }
        #expect(throws: PingPayloadError.wrongSize(13)) { try PingPayload.decode(good + [0]) }
        #expect(throws: PingPayloadError.wrongSize(0)) { try PingPayload.decode([UInt8]()) }
        var flipped = good
        flipped[7] ^= 0x01
        #expect(throws: PingPayloadError.checkMismatch) { try PingPayload.decode(flipped) }
        #expect(throws: PingPayloadError.checkMismatch) { try PingPayload.decode([UInt8](repeating: 0, count: 12)) }
        #expect(
            PingPayloadError.wrongSize(11).description == "pong payload of 11 bytes is not a 12-byte ping payload"
        )
    }
}
