import Testing

@Test func placeholder_RelayCoreTests() { #expect(Bool(true)) }
