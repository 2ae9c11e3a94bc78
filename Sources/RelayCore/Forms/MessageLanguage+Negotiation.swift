/// Choosing a participant's problem-message language from what its device says: the `lang` of `hello`, or
/// the `Accept-Language` header of the HTTP request (the WebSocket upgrade included).
extension MessageLanguage {
    /// The language a participant gets when its device names none.
    public static let fallback: MessageLanguage = .zh

    /// The language of a BCP 47 tag by its primary subtag, case-insensitively: `zh`, `zh-CN`, `zh-Hans-CN`
    /// → zh; `en`, `en-GB` → en; nil for any other language.
    public init?(tag: String) {
        let primary = tag.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch primary.lowercased() {
        case "zh": self = .zh
        case "en": self = .en
        default: return nil
        }
    }

    /// The supported language the header prefers most (RFC 9110 §12.5.4: weights `q`, default 1; the first
    /// of equal weights wins); nil when it names none of them (`*` alone, other languages, no header).
    public static func preferred(acceptLanguage header: String?) -> MessageLanguage? {
        guard let header else { return nil }
        var best: (language: MessageLanguage, q: Double)?
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.strippingBlanks() }
            guard let tag = parts.first, let language = MessageLanguage(tag: tag) else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.strippingBlanks() }
                if pair.count == 2, pair[0].lowercased() == "q" { q = Double(pair[1]) ?? 0 }
            }
            guard q > 0, q > (best?.q ?? 0) else { continue }
            best = (language, q)
        }
        return best?.language
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (the optional white space of HTTP).
    fileprivate func strippingBlanks() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(self.drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
