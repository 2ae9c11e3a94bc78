import RelayCore
import Testing

@Suite("Download headers: Content-Disposition, Range, If-None-Match")
struct DownloadHeadersTests {
    @Test func anASCIINameIsAPlainQuotedFilename() {
        #expect(
            ContentDisposition.attachment(filename: "licence scan.pdf") == "attachment; filename=\"licence scan.pdf\""
        )
    }

    @Test func aChineseNameGetsAnASCIIFallbackAndAnRFC5987Filename() {
        let value = ContentDisposition.attachment(filename: "营业执照.pdf")
        #expect(
            value == "attachment; filename=\"document.pdf\"; "
                + "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf"
        )
    }

    @Test func aMixedNameKeepsItsASCIIPartsInTheFallback() {
        #expect(ContentDisposition.asciiFallback("2024 营业执照 copy.pdf") == "2024 _ copy.pdf")
    }

    @Test func quotesBackslashesSlashesAndControlsNeverReachTheQuotedFilename() {
        let fallback = ContentDisposition.asciiFallback("a\"b\\c/../d\r\nSet-Cookie: x.pdf")
        #expect(!fallback.contains("\""))
        #expect(!fallback.contains("\\"))
        #expect(!fallback.contains("/"))
        #expect(!fallback.contains("\r") && !fallback.contains("\n"))
        let value = ContentDisposition.attachment(filename: "../../etc/passwd.pdf")
        #expect(
            value.hasPrefix(
                "attachment; filename=\".._.._etc_passwd.pdf\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd.pdf"
            )
        )
    }

    @Test func percentEncodingKeepsAttrCharsAndEncodesTheRest() {
        #expect(ContentDisposition.percentEncoded("a b!#$&+-.^_`|~%'é") == "a%20b!#$&+-.^_`|~%25%27%C3%A9")
    }

    @Test(arguments: [
        ("bytes=0-99", ByteRange.partial(first: 0, last: 99)),
        ("bytes=100-", .partial(first: 100, last: 999)),
        ("bytes=-100", .partial(first: 900, last: 999)),
        ("bytes=-5000", .partial(first: 0, last: 999)),
        ("bytes=990-5000", .partial(first: 990, last: 999)),
        ("bytes=1000-", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=5-3", .whole),
        ("bytes=0-1,5-6", .whole),
        ("items=0-1", .whole),
        ("bytes=x-1", .whole),
    ])
    func rangesOfAThousandByteFile(_ header: String, _ expected: ByteRange) {
        #expect(ByteRange.parse(header, size: 1000) == expected)
    }

    @Test func noRangeHeaderIsTheWholeFile() {
        #expect(ByteRange.parse(nil, size: 10) == .whole)
    }

    @Test func ifNoneMatchComparesTagsWeaklyAndHonoursTheStar() {
        let etag = "\"abc\""
        #expect(EntityTag.matches(ifNoneMatch: "\"abc\"", etag: etag))
        #expect(EntityTag.matches(ifNoneMatch: "\"x\", W/\"abc\"", etag: etag))
        #expect(EntityTag.matches(ifNoneMatch: "*", etag: etag))
        #expect(!EntityTag.matches(ifNoneMatch: "\"abd\"", etag: etag))
        #expect(!EntityTag.matches(ifNoneMatch: nil, etag: etag))
    }
}
