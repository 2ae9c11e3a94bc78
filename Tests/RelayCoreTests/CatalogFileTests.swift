import Foundation
import Testing

@testable import RelayCore

/// `config/catalog.yaml` is decoded by the server (Yams is not a RelayCore dependency); here its patterns
/// are read line by line and compiled the way the field checks compile them.
@Suite struct CatalogFileTests {
    static var catalogURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/catalog.yaml")
    }

    @Test func everyPatternCompilesAndChecksWhatItShould() throws {
        let text = try String(contentsOf: Self.catalogURL, encoding: .utf8)
        let patterns = text.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("pattern: '"), t.hasSuffix("'") else { return nil }
            return String(t.dropFirst("pattern: '".count).dropLast()).replacingOccurrences(of: "''", with: "'")
        }
        #expect(patterns.count >= 5)
        for p in patterns { #expect(FieldPattern.compiles(p), "\(p)") }
        let phone = try FieldPattern(#"1[3-9]\d{9}"#)
        #expect(patterns.contains(phone.source) && phone.matches("13812345678") && !phone.matches("23812345678"))
        let credit = try #require(patterns.first { $0.hasPrefix("[0-9A-HJ") }.map { try FieldPattern($0) })
        #expect(credit.matches("91370211MA3C1234XY") && !credit.matches("91370211MA3C1234XI"))
    }
}
