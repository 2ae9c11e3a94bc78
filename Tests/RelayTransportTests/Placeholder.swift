import Testing

@Test func placeholder_RelayTransportTests() { #expect(Bool(true)) }
