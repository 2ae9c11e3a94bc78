import RelayCore
import Testing

@Suite("Document type sniffing (PROTOCOL §4)")
struct DocumentSignatureTests {
    static let cases: [(mime: String, good: [UInt8], bad: [UInt8])] = [
        ("application/pdf", Array("%PDF-1.7\n%âãÏÓ".utf8), Array("<html>hello".utf8)),
        ("image/jpeg", [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46], [0xFF, 0xD8, 0x00, 0xE0, 0, 0, 0, 0]),
        ("image/png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13], Array("%PDF-1.4 not png".utf8)),
        ("application/ofd", [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00], [0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0]),
    ]

    @Test(arguments: cases.map(\.mime))
    func theSignatureOfEachTypeMatchesAndOthersDoNot(_ mime: String) {
        let c = Self.cases.first { $0.mime == mime }!
        #expect(DocumentSignature.check(mime: mime, leading: c.good, fileSize: 1000) == .matches)
        #expect(DocumentSignature.check(mime: mime, leading: c.bad, fileSize: 1000) == .mismatch)
    }

    @Test func theTableHasTheFourTypesOfTheProtocol() {
        #expect(DocumentSignature.table["application/pdf"] == [0x25, 0x50, 0x44, 0x46, 0x2D])
        #expect(DocumentSignature.table["image/jpeg"] == [0xFF, 0xD8, 0xFF])
        #expect(DocumentSignature.table["image/png"] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(DocumentSignature.table["application/ofd"] == [0x50, 0x4B, 0x03, 0x04])
    }

    @Test func aPNGSignatureCutShortInTheFirstChunkNeedsMoreBytes() {
        #expect(DocumentSignature.check(mime: "image/png", leading: [0x89, 0x50], fileSize: 100) == .needsMore(8))
    }

    @Test func aFileShorterThanItsSignatureCannotBeOfTheType() {
        #expect(DocumentSignature.check(mime: "image/png", leading: [0x89, 0x50], fileSize: 2) == .mismatch)
    }

    @Test func mimeTypesAreComparedWithoutCaseOrParameters() {
        #expect(DocumentSignature.normalized(" Application/PDF; charset=binary") == "application/pdf")
        #expect(DocumentSignature.check(mime: "APPLICATION/PDF", leading: Array("%PDF-".utf8), fileSize: 9) == .matches)
    }

    @Test func aTypeWithoutASignatureIsNotChecked() {
        #expect(DocumentSignature.check(mime: "text/plain", leading: [0, 1, 2], fileSize: 3) == .matches)
    }
}
