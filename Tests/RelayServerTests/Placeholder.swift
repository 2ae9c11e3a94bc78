import Testing

@Test func placeholder_RelayServerTests() { #expect(Bool(true)) }
