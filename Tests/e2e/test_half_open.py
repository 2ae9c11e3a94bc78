"""A device that vanishes without a close (power cut, cable pulled): its socket stays open but
nothing answers. The relay's pings go unanswered, it hangs the connection up, the participant turns
`away` for the others, and the session goes on."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time

from conftest import Relay, needs_relay
from wire import Peer

LOCAL, REMOTE, SERVICE = "qd-xihaian", "cd-gaoxin", "social-insurance-transfer"


def masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 65536
    header = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload)) if len(payload) > 125 else \
        struct.pack("!BB", 0x81, 0x80 | len(payload))
    return header + mask + body


def silent_device(relay: Relay, token: str, join: str) -> socket.socket:
    """A raw socket that upgrades, says hello and joins `join`, then never reads or writes again."""
    sock = socket.create_connection((relay.host, relay.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /v1/ws HTTP/1.1\r\nHost: {relay.host}:{relay.port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    assert response.startswith(b"HTTP/1.1 101"), response
    sock.sendall(masked_text_frame(json.dumps({"type": "hello", "id": "h", "token": token})))
    sock.sendall(masked_text_frame(json.dumps({"type": "session.join", "id": "j", "sessionId": join})))
    # Shrink what the kernel buffers for it, so that the relay's writes back up as on a dead link.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


@needs_relay
def test_a_device_that_vanishes_is_hung_up_and_turns_away(relay_factory) -> None:
    # heartbeatMs 500: pings every 0.5 s; lws hangs up after 4 × max(2, 0.5) = 8 s without a pong.
    relay = relay_factory(sessions={"heartbeatMs": 500, "reconnectGraceSeconds": 60})
    clerk = Peer(relay.url, relay.token("vanish-clerk", "clerk", unit=LOCAL))
    sid = clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE})["session"]["id"]
    approver = Peer(relay.url, relay.token("vanish-approver", "approver", unit=REMOTE))
    approver.ok({"type": "session.accept", "sessionId": sid})
    approver.close()
    clerk.wait_for("participant.away", sessionId=sid, timeout=10)  # that close was a clean one

    started = time.monotonic()
    device = silent_device(relay, relay.token("vanish-approver", "approver", unit=REMOTE), sid)
    back = clerk.wait_for("participant.back", sessionId=sid, timeout=10)
    assert back["participant"]["id"] == "vanish-approver"

    away = clerk.wait_for("participant.away", sessionId=sid, timeout=30)
    waited = time.monotonic() - started
    assert away["participant"]["id"] == "vanish-approver"
    assert waited >= 1  # not at once: only once its pings went unanswered
    # The session goes on for everyone else.
    assert clerk.ok({"type": "chat.send", "sessionId": sid, "text": "still here"}) == {}
    device.close()
    clerk.close()
