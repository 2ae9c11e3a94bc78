/// Byte sizes as people write them in the configuration: `1048576`, `512KiB`, `4 MiB`, `1GiB`, `100B`.
///
/// Units are powers of 1024 only; decimal units (`MB`) are refused because they are ambiguous.
enum ByteSize {
    static let units: [(suffix: String, factor: Int)] = [
        ("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10), ("b", 1),
    ]

    /// The number of bytes `text` stands for, or nil when it is not a byte size (or overflows).
    static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingSpaces()
        let lower = trimmed.lowercased()
        var digits = Substring(trimmed)
        var factor = 1
        for unit in units where lower.hasSuffix(unit.suffix) {
            digits = trimmed.dropLast(unit.suffix.count)
            factor = unit.factor
            break
        }
        let number = String(digits).trimmingSpaces().replacingUnderscores()
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(number) else {
            return nil
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }

    /// `52428800` → `50 MiB`; sizes that are not whole KiB, MiB or GiB stay in bytes.
    static func format(_ bytes: Int) -> String {
        for (suffix, factor) in units where factor > 1 && bytes >= factor && bytes % factor == 0 {
            let name = suffix.prefix(1).uppercased() + suffix.dropFirst(1).prefix(1) + "B"
            return "\(bytes / factor) \(name)"
        }
        return "\(bytes) bytes"
    }
}

extension String {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }
        return String(String.UnicodeScalarView(scalars.reversed()))
    }

    fileprivate func replacingUnderscores() -> String {
        String(filter { $0 != "_" })
    }
}
