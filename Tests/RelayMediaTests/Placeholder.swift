import Testing

@Test func placeholder_RelayMediaTests() { #expect(Bool(true)) }
