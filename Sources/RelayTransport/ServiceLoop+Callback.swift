import CLibWebSockets
import Glibc

/// The one C callback of every lws context this module creates. It finds the `ServiceLoop`
/// through the context's user pointer and the connection or exchange through the per-connection
/// user area, which holds one retained object reference (released when lws closes the socket).
func serviceLoopCallback(
    _ wsi: OpaquePointer?,
    _ reason: lws_callback_reasons,
    _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?,
    _ length: Int
) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let loopPointer = lws_context_user(context) else {
        return 0
    }
    let loop = Unmanaged<ServiceLoop>.fromOpaque(loopPointer).takeUnretainedValue()
    return loop.handle(wsi: wsi, reason: reason, user: user, input: input, length: length)
}

/// The per-connection user area: one pointer-sized slot holding a retained object.
private struct UserSlot {
    let slot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?

    init(_ user: UnsafeMutableRawPointer?) {
        slot = user?.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }

    var object: AnyObject? {
        guard let slot, let p = slot.pointee else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue()
    }

    func store(_ object: AnyObject) {
        guard let slot else { return }
        release()
        slot.pointee = Unmanaged.passRetained(object).toOpaque()
    }

    func release() {
        guard let slot, let p = slot.pointee else { return }
        slot.pointee = nil
        Unmanaged<AnyObject>.fromOpaque(p).release()
    }
}

extension ServiceLoop {
    func handle(
        wsi: OpaquePointer,
        reason: lws_callback_reasons,
        user: UnsafeMutableRawPointer?,
        input: UnsafeMutableRawPointer?,
        length: Int
    ) -> Int32 {
        let slot = UserSlot(user)
        switch reason {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            drainMailbox()

        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            // Only the WebSocket path (and the additional ones, if any) upgrades.
            return listen?.upgrades(path: headerValue(wsi, WSI_TOKEN_GET_URI)) == true ? 0 : 1

        case LWS_CALLBACK_ESTABLISHED:
            let path = headerValue(wsi, WSI_TOKEN_GET_URI) ?? listen?.webSocketPath ?? ""
            let connection = makeConnection(wsi: wsi, path: path)
            // The upgrade's headers are still attached here, and only here.
            connection.acceptLanguage = headerValue(wsi, WSI_TOKEN_HTTP_ACCEPT_LANGUAGE)
            if listen?.tlsClientCAPath != nil { connection.clientCertificateName = clientCertificateName(wsi) }
            slot.store(connection)
            handler?.webSocketOpened(connection, tag: 0)

        case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
            // lws hands OpenSSL's verdict on the client certificate in `length` (preverify_ok) and
            // takes ours back: 0 accepts, anything else fails the handshake. Accepting by default
            // (as lws's dummy callback does) would let a certificate from any CA through.
            // A client loop keeps lws's own checks of the server (CA, ALLOW_SELFSIGNED for tests).
            guard listen != nil else { return 0 }
            return length != 0 ? 0 : 1

        case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
            // `user` is the vhost's SSL_CTX, which lives as long as the context: kept for reloads.
            serverTLSContext = user

        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            let tag = pendingClients.removeValue(forKey: wsi) ?? 0
            let connection = makeConnection(wsi: wsi, path: "")
            slot.store(connection)
            handler?.webSocketOpened(connection, tag: tag)

        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let tag = pendingClients.removeValue(forKey: wsi) ?? 0
            let text = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "connection failed"
            handler?.webSocketConnectFailed(tag: tag, reason: text)
            slot.release()

        case LWS_CALLBACK_RECEIVE, LWS_CALLBACK_CLIENT_RECEIVE:
            guard let connection = slot.object as? WebSocketConnection else { return -1 }
            return receive(connection, wsi: wsi, piece: UnsafeRawBufferPointer(start: input, count: length))

        case LWS_CALLBACK_RECEIVE_PONG, LWS_CALLBACK_CLIENT_RECEIVE_PONG:
            guard let connection = slot.object as? WebSocketConnection else { return 0 }
            handler?.webSocket(connection, receivedPong: UnsafeRawBufferPointer(start: input, count: length))

        case LWS_CALLBACK_SERVER_WRITEABLE, LWS_CALLBACK_CLIENT_WRITEABLE:
            guard let connection = slot.object as? WebSocketConnection else { return 0 }
            return connection.writeQueued()

        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            let close = PeerClose(payload: UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
            if let connection = slot.object as? WebSocketConnection, let code = close.code {
                connection.peerCloseCode = code
                connection.peerCloseReason = close.reason
            }
            if close.hasInvalidReason {
                // Fail with 1007 rather than let lws echo the close: lws sends this reason, then hangs up.
                var reason = Array("bad utf8 in close reason".utf8)
                lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, &reason, reason.count)
                return -1
            }

        case LWS_CALLBACK_CLOSED, LWS_CALLBACK_CLIENT_CLOSED:
            if let connection = slot.object as? WebSocketConnection {
                connection.wsi = nil
                connection.queue.removeAll()
                handler?.webSocketClosed(connection)
            }
            slot.release()

        case LWS_CALLBACK_HTTP:
            return beginHTTP(wsi: wsi, slot: slot, uri: input, length: length)

        case LWS_CALLBACK_HTTP_BODY:
            (slot.object as? HTTPExchange)?.appendBody(UnsafeRawBufferPointer(start: input, count: length))

        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            guard let exchange = slot.object as? HTTPExchange else { return -1 }
            dispatchHTTP(exchange)

        case LWS_CALLBACK_HTTP_WRITEABLE:
            guard let exchange = slot.object as? HTTPExchange else { return 0 }
            switch exchange.writeNext() {
            case .more:
                return 0
            case .fail:
                return -1
            case .complete:
                // Release first: completing the transaction may close the connection and free its
                // user area inside the call. `exchange` keeps the object alive until we return.
                slot.release()
                return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
            }

        case LWS_CALLBACK_CLOSED_HTTP, LWS_CALLBACK_WSI_DESTROY:
            if let exchange = slot.object as? HTTPExchange { exchange.wsi = nil }
            if let connection = slot.object as? WebSocketConnection, connection.wsi != nil {
                connection.wsi = nil
                handler?.webSocketClosed(connection)
            }
            slot.release()

        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
        return 0
    }

    private func receive(_ connection: WebSocketConnection, wsi: OpaquePointer, piece: UnsafeRawBufferPointer) -> Int32 {
        // Closing (for example after bad UTF-8): what still arrives is not read.
        guard !connection.closeRequested else { return 0 }
        let isFinal = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        let binary = lws_frame_is_binary(wsi) != 0
        switch connection.assembler.append(piece, isBinary: binary, isFinal: isFinal) {
        case .partial, .discarding:
            break
        case .completeInPiece(let binary):
            handler?.webSocket(connection, received: piece, binary: binary)
        case .complete(let binary):
            connection.assembler.message.withUnsafeBytes { handler?.webSocket(connection, received: $0, binary: binary) }
        case .invalidText:
            return refuseInvalidUTF8(connection)
        case .tooLarge:
            handler?.webSocketMessageTooLarge(connection)
        }
        return 0
    }

    /// RFC 6455 §8.1: a text message that is not UTF-8 fails the connection (1007).
    private func refuseInvalidUTF8(_ connection: WebSocketConnection) -> Int32 {
        connection.close(code: 1007, reason: "bad utf8", discardingQueued: true)
        return 0
    }

    private func beginHTTP(wsi: OpaquePointer, slot: UserSlot, uri: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        let target = uri.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "/"
        let methods: [(lws_token_indexes, String)] = [
            (WSI_TOKEN_GET_URI, "GET"), (WSI_TOKEN_POST_URI, "POST"), (WSI_TOKEN_HEAD_URI, "HEAD"),
            (WSI_TOKEN_PUT_URI, "PUT"), (WSI_TOKEN_DELETE_URI, "DELETE"), (WSI_TOKEN_OPTIONS_URI, "OPTIONS"),
            (WSI_TOKEN_PATCH_URI, "PATCH"),
        ]
        var method = "GET"
        for (token, name) in methods where lws_hdr_total_length(wsi, token) > 0 {
            method = name
            break
        }
        let names: [(lws_token_indexes, String)] = [
            (WSI_TOKEN_HTTP_AUTHORIZATION, "authorization"), (WSI_TOKEN_HTTP_RANGE, "range"),
            (WSI_TOKEN_HTTP_IF_NONE_MATCH, "if-none-match"), (WSI_TOKEN_HTTP_CONTENT_TYPE, "content-type"),
            (WSI_TOKEN_HTTP_CONTENT_LENGTH, "content-length"), (WSI_TOKEN_HTTP_ACCEPT_LANGUAGE, "accept-language"),
            (WSI_TOKEN_HOST, "host"),
        ]
        var headers: [String: String] = [:]
        for (token, name) in names {
            if let value = headerValue(wsi, token) { headers[name] = value }
        }
        let request = HTTPRequest(
            method: method, path: target, query: headerValue(wsi, WSI_TOKEN_HTTP_URI_ARGS) ?? "", headers: headers,
            peerAddress: peerAddress(wsi))
        let maxBody = listen?.maxHTTPBodyBytes ?? 0
        let exchange = HTTPExchange(wsi: wsi, request: request, maxBodyBytes: maxBody)
        slot.store(exchange)
        let declared = Int(headers["content-length"] ?? "") ?? 0
        if declared > maxBody {
            exchange.respond(HTTPResponse.bodyTooLarge)
            return 0
        }
        if declared > 0 {
            return 0  // wait for LWS_CALLBACK_HTTP_BODY_COMPLETION
        }
        dispatchHTTP(exchange)
        return 0
    }

    private func dispatchHTTP(_ exchange: HTTPExchange) {
        guard !exchange.dispatched else { return }
        exchange.dispatched = true
        if exchange.bodyTooLarge {
            exchange.respond(HTTPResponse.bodyTooLarge)
            return
        }
        guard let handler else {
            exchange.respond(HTTPResponse(status: 503))
            return
        }
        handler.httpRequest(exchange)
    }

    private func headerValue(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = lws_hdr_total_length(wsi, token)
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(length) + 1)
        guard lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token) >= 0 else { return nil }
        return string(fromCBuffer: buffer)
    }
}

/// Whether `bytes` are well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var stream = UTF8Stream()
    stream.take(bytes)
    return stream.isComplete
}
