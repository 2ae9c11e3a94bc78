import RelayCore
import RelayMedia
import Testing

@Suite struct FormDigestTests {
    /// `form.submitted`'s `sha256` with the real SHA-256: RFC 8785 sorts the keys, writes 500 as `500` and 0.25 as
    /// `0.25`, keeps 张三 as UTF-8 and escapes only the quote. The expected digest was computed by hand
    /// (`printf '%s' '<canonical>' | sha256sum`).
    @Test func submittedValuesHashTheirCanonicalJSON() {
        let values: JSONValue = [
            "name": "张三", "rate": 0.25, "note": "a\"b", "idNumber": "11010519491231002X", "amount": 500,
        ]
        let canonical = #"{"amount":500,"idNumber":"11010519491231002X","name":"张三","note":"a\"b","rate":0.25}"#
        #expect(values.canonicalText == canonical)
        let desk = FormDesk(
            catalog: Catalog(units: [], services: []),
            sha256Hex: { SHA256.hex($0) },
            makeFormId: { "f_1" }
        )
        #expect(desk.digest(values) == "ad3cb961f85f4b3ee4a89aa66f418a77114ffa146a2475bb44a6e343b963457d")
    }
}
