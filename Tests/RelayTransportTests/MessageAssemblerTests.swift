import RelayTransport
import Testing

extension MessageAssembler {
    /// Feeds `text`'s UTF-8 bytes as one piece.
    fileprivate mutating func take(_ text: String, binary: Bool = false, final: Bool) -> Step {
        Array(text.utf8).withUnsafeBytes { append($0, isBinary: binary, isFinal: final) }
    }

    /// Feeds raw bytes as one piece.
    fileprivate mutating func take(bytes: [UInt8], binary: Bool = false, final: Bool) -> Step {
        bytes.withUnsafeBytes { append($0, isBinary: binary, isFinal: final) }
    }

    fileprivate var text: String { String(decoding: message, as: UTF8.self) }
}

@Suite("MessageAssembler: WebSocket messages from lws's pieces")
struct MessageAssemblerTests {
    @Test func aMessageInOnePieceIsHandedOnWithoutACopy() {
        var a = MessageAssembler(maxMessageBytes: 16)
        #expect(a.take("hello", final: true) == .completeInPiece(binary: false))
        #expect(a.message.isEmpty)
        #expect(a.take("bytes", binary: true, final: true) == .completeInPiece(binary: true))
        #expect(a.message.isEmpty)
    }

    @Test func piecesAreJoinedIntoOneMessage() {
        var a = MessageAssembler(maxMessageBytes: 64)
        #expect(a.take("hel", final: false) == .partial)
        #expect(a.take("lo, ", final: false) == .partial)
        #expect(a.take("world", final: true) == .complete(binary: false))
        #expect(a.text == "hello, world")
    }

    @Test func theNextMessageStartsAfresh() {
        var a = MessageAssembler(maxMessageBytes: 64)
        _ = a.take("ab", final: false)
        #expect(a.take("c", final: true) == .complete(binary: false))
        #expect(a.text == "abc")
        #expect(a.take("xy", final: false) == .partial)
        #expect(a.take("z", final: true) == .complete(binary: false))
        #expect(a.text == "xyz")
    }

    @Test func aMessageMayEndWithAnEmptyFinalPiece() {
        var a = MessageAssembler(maxMessageBytes: 64)
        #expect(a.take("abc", final: false) == .partial)
        #expect(a.take("", final: true) == .complete(binary: false))
        #expect(a.text == "abc")
    }

    @Test func anEmptyMessageInOnePieceIsComplete() {
        var a = MessageAssembler(maxMessageBytes: 4)
        #expect(a.take("", final: true) == .completeInPiece(binary: false))
    }

    @Test func aMessageOfExactlyTheLimitIsAccepted() {
        var a = MessageAssembler(maxMessageBytes: 4)
        #expect(a.take("abcd", final: true) == .completeInPiece(binary: false))
        #expect(a.take("ab", final: false) == .partial)
        #expect(a.take("cd", final: true) == .complete(binary: false))
        #expect(a.text == "abcd")
    }

    @Test func aTooLargeMessageIsReportedOnceAndDiscardedUpToItsFinalPiece() {
        var a = MessageAssembler(maxMessageBytes: 4)
        #expect(a.take("abc", final: false) == .partial)
        #expect(a.take("de", final: false) == .tooLarge)
        #expect(a.message.isEmpty)
        #expect(a.take("fgh", final: false) == .discarding)
        #expect(a.take("i", final: true) == .discarding)
        // The next message is read normally.
        #expect(a.take("ok", final: true) == .completeInPiece(binary: false))
        #expect(a.take("o", final: false) == .partial)
        #expect(a.take("k", final: true) == .complete(binary: false))
        #expect(a.text == "ok")
    }

    @Test func aTooLargeSinglePieceIsReportedAndTheNextMessageIsRead() {
        var a = MessageAssembler(maxMessageBytes: 4)
        #expect(a.take("abcde", final: true) == .tooLarge)
        #expect(a.take("next", final: true) == .completeInPiece(binary: false))
    }

    @Test func goingPastTheLimitOnTheFinalPieceDiscardsNothingAfterIt() {
        var a = MessageAssembler(maxMessageBytes: 4)
        #expect(a.take("abc", final: false) == .partial)
        #expect(a.take("de", final: true) == .tooLarge)
        #expect(a.take("x", final: true) == .completeInPiece(binary: false))
    }

    @Test func theBinaryFlagComesFromTheFirstPiece() {
        var a = MessageAssembler(maxMessageBytes: 64)
        #expect(a.take("\u{1}ab", binary: true, final: false) == .partial)
        #expect(a.take("cd", binary: false, final: true) == .complete(binary: true))
        #expect(a.take("te", binary: false, final: false) == .partial)
        #expect(a.take("xt", binary: true, final: true) == .complete(binary: false))
        #expect(a.text == "text")
    }

    // Autobahn 6.4.x: a text message whose first fragment is not UTF-8 must fail before the rest arrives.
    @Test func badUTF8FailsTheMessageAtTheFirstBadPieceAndTheRestIsDiscarded() {
        var a = MessageAssembler(maxMessageBytes: 64)
        #expect(a.take(bytes: [0xCE, 0xBA], final: false) == .partial)
        #expect(a.take(bytes: [0xF4, 0x90, 0x80], final: false) == .invalidText)
        #expect(a.message.isEmpty)
        #expect(a.take("tail", final: true) == .discarding)
        #expect(a.take("next", final: true) == .completeInPiece(binary: false))
    }

    @Test func aScalarSplitBetweenFragmentsIsAccepted() {
        let bytes = Array("营".utf8)
        var a = MessageAssembler(maxMessageBytes: 64)
        #expect(a.take(bytes: Array(bytes[..<1]), final: false) == .partial)
        #expect(a.take(bytes: Array(bytes[1...]), final: true) == .complete(binary: false))
        #expect(a.text == "营")
    }

    @Test func aTextMessageEndingInsideAScalarIsInvalid() {
        var a = MessageAssembler(maxMessageBytes: 64)
        #expect(a.take(bytes: [0xE8, 0x90], final: true) == .invalidText)
        #expect(a.take("ab", final: false) == .partial)
        #expect(a.take(bytes: [0xE8], final: true) == .invalidText)
        #expect(a.take("ok", final: true) == .completeInPiece(binary: false))
    }

    @Test func binaryMessagesAreNotCheckedAsUTF8() {
        var a = MessageAssembler(maxMessageBytes: 64)
        #expect(a.take(bytes: [0xFF, 0xFE], binary: true, final: false) == .partial)
        #expect(a.take(bytes: [0xC0], final: true) == .complete(binary: true))
    }
}
