import Testing

@Test func placeholder_RelayStoreTests() { #expect(Bool(true)) }
