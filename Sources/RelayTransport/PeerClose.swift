/// The payload of a close frame the peer sent (RFC 6455 §5.5.1): a code, then a UTF-8 reason.
///
/// lws checks the code (it answers an invalid one with 1002) but not the reason, because its
/// UTF-8 check is off (`ServiceLoop.createContext`): a reason that is not UTF-8 is caught here and
/// the connection is failed with 1007 instead of the close being echoed (§8.1, Autobahn 7.5.1).
struct PeerClose: Equatable {
    /// nil when the frame had no code.
    let code: UInt16?
    let reason: String
    /// The reason bytes are not well-formed UTF-8.
    let hasInvalidReason: Bool

    init(payload: UnsafeRawBufferPointer) {
        guard payload.count >= 2 else {
            code = nil
            reason = ""
            hasInvalidReason = false
            return
        }
        code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        let reasonBytes = UnsafeRawBufferPointer(rebasing: payload[2...])
        hasInvalidReason = !isValidUTF8(reasonBytes)
        reason = hasInvalidReason ? "" : String(decoding: reasonBytes, as: UTF8.self)
    }
}
