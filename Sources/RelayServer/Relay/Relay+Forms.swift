import RelayCore

extension Relay {
    /// A PROTOCOL §5 request: decided by the form desk, whose event is a session event appended to the
    /// book, then made visible on the durable path like any other (`apply`). Problem messages, in the
    /// event and in a refusal, are in the requester's language.
    func handleForm(_ request: FormRequest, peer: Peer, identity: Identity, id: String?) throws(Refusal) {
        if refusedWhileStalled(peer, id: id) { return }
        let outcome = try forms.handle(request, by: identity, language: peer.language, in: &book, now: wallMillis)
        apply(outcome, for: peer, requestId: id)
    }

    /// Puts the state of every form of `sessionId` into a `session.join` result, as of the seq the join
    /// reports as `lastSeq` (form events replayed after the result are already in it), with problem
    /// messages in the joiner's language.
    func addForms(of sessionId: String, to outcome: inout SessionOutcome, for peer: Peer) {
        guard case .object(var result)? = outcome.result else { return }
        result["forms"] = forms.joinState(sessionId: sessionId, language: peer.language)
        outcome.result = .object(result)
    }
}
