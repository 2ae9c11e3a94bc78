/// `Content-Disposition: attachment` for a document's display name (RFC 6266 with RFC 5987 `filename*`).
///
/// Every name gets an ASCII `filename` (quoted, with `"`, `\`, `/` and control characters replaced); a name that
/// is not plain ASCII also gets `filename*=UTF-8''…` percent-encoded, which clients that know it prefer.
public enum ContentDisposition {
    /// The header value for a download of `name`.
    public static func attachment(filename name: String) -> String {
        let fallback = asciiFallback(name)
        var value = "attachment; filename=\"\(fallback)\""
        if fallback != name { value += "; filename*=UTF-8''" + percentEncoded(name) }
        return value
    }

    /// `name` in safe ASCII: each run of other characters becomes `_`; an empty stem becomes `document`.
    public static func asciiFallback(_ name: String) -> String {
        var out = ""
        var replacing = false
        for scalar in name.unicodeScalars {
            let safe =
                scalar.isASCII && scalar.value >= 0x20 && scalar.value != 0x7F
                && scalar != "\"" && scalar != "\\" && scalar != "/"
            if safe {
                out.unicodeScalars.append(scalar)
                replacing = false
            } else if !replacing {
                out += "_"
                replacing = true
            }
        }
        let dot = out.lastIndex(of: ".")
        let stem = dot.map { out[..<$0] } ?? out[...]
        if !stem.contains(where: { $0.isLetter || $0.isNumber }) {
            out = "document" + (dot.map { String(out[$0...]) } ?? "")
        }
        return out
    }

    /// RFC 5987 `value-chars`: UTF-8 bytes, every one outside `attr-char` as `%XX` (upper-case hex).
    public static func percentEncoded(_ text: String) -> String {
        let attrChars = Set("!#$&+-.^_`|~".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            let alnum = (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
            if alnum || attrChars.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The part of a document a `Range` header asks for (RFC 9110 §14), for a file of known size.
public enum ByteRange: Sendable, Hashable {
    /// No range, or one the server may ignore (several ranges, another unit, bad syntax): send it all, 200.
    case whole
    /// `first...last` (inclusive): 206 with `Content-Range: bytes first-last/size`.
    case partial(first: Int, last: Int)
    /// Nothing of the file satisfies it: 416 with `Content-Range: bytes */size`.
    case unsatisfiable

    /// Reads `bytes=a-b`, `bytes=a-` or `bytes=-n` against a file of `size` bytes.
    public static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header else { return .whole }
        let trimmed = header.filter { $0 != " " && $0 != "\t" }
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = trimmed.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let start = spec[..<dash]
        let end = spec[spec.index(after: dash)...]
        func number(_ s: Substring) -> Int? {
            guard !s.isEmpty, s.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
            return Int(s) ?? .max
        }
        if start.isEmpty {
            guard let suffix = number(end) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .partial(first: max(0, size - suffix), last: size - 1)
        }
        guard let first = number(start) else { return .whole }
        let last: Int
        if end.isEmpty {
            last = size - 1
        } else {
            guard let l = number(end) else { return .whole }
            guard l >= first else { return .whole }
            last = min(l, size - 1)
        }
        guard first < size else { return .unsatisfiable }
        return .partial(first: first, last: last)
    }
}

/// Whether an `If-None-Match` header matches a strong entity tag (weak comparison, RFC 9110 §13.1.2).
public enum EntityTag {
    /// True when `header` lists `etag` (quoted, `W/` allowed) or is `*`.
    public static func matches(ifNoneMatch header: String?, etag: String) -> Bool {
        guard let header else { return false }
        let bare = etag.trimmingCharacters(in: "\"")
        for item in header.split(separator: ",") {
            var tag = item.filter { $0 != " " && $0 != "\t" }
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if tag.trimmingCharacters(in: "\"") == bare { return true }
        }
        return false
    }
}

extension String {
    fileprivate func trimmingCharacters(in c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
