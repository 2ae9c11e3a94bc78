/// What a service loop's owner does with connections. Every method is called on the service thread.
public protocol TransportHandler: AnyObject {
    /// A WebSocket is open (server: upgraded; client: connected, with the `tag` given to `connect`).
    func webSocketOpened(_ connection: WebSocketConnection, tag: UInt64)
    /// A whole message arrived. The bytes are valid only during the call.
    func webSocket(_ connection: WebSocketConnection, received message: UnsafeRawBufferPointer, binary: Bool)
    /// A message went past the size limit and was discarded.
    func webSocketMessageTooLarge(_ connection: WebSocketConnection)
    func webSocket(_ connection: WebSocketConnection, receivedPong payload: UnsafeRawBufferPointer)
    /// The connection is gone; `peerCloseCode` says how the peer closed it, if it did.
    func webSocketClosed(_ connection: WebSocketConnection)
    /// A client connect with `tag` failed before it opened.
    func webSocketConnectFailed(tag: UInt64, reason: String)
    /// An HTTP request (not the WebSocket upgrade) with its body read.
    func httpRequest(_ exchange: HTTPExchange)
    /// Called every `tickMillis` with the loop's monotonic clock.
    func tick(nowMillis: Int64)
}

extension TransportHandler {
    public func webSocketMessageTooLarge(_ connection: WebSocketConnection) {
        connection.close(code: 1009, reason: "message too large")
    }
    public func webSocket(_ connection: WebSocketConnection, receivedPong payload: UnsafeRawBufferPointer) {}
    public func webSocketConnectFailed(tag: UInt64, reason: String) {}
    public func httpRequest(_ exchange: HTTPExchange) {
        exchange.respond(HTTPResponse(status: 404))
    }
    public func tick(nowMillis: Int64) {}
}
