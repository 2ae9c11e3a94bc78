"""Smoke test: a clerk connects and says hello (PROTOCOL §1)."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from conftest import Relay, needs_relay

# The unit of the protocol's example; config/catalog.yaml lists it.
UNIT = "qd-xihaian"


@needs_relay
def test_clerk_hello_is_answered_with_the_participant(relay: Relay) -> None:
    token = relay.token("clerk-smoke", "clerk", unit=UNIT)
    assert token.count(".") == 2, f"not a JWT: {token!r}"

    with connect(relay.url, open_timeout=10, close_timeout=5) as websocket:
        websocket.send(json.dumps({"type": "hello", "id": "1", "token": token, "client": "e2e-smoke/1"}))
        reply = json.loads(websocket.recv(timeout=10))

    assert reply["type"] == "ok", reply
    assert reply["id"] == "1"
    result = reply["result"]
    assert result["participant"] == "clerk-smoke"
    assert result["role"] == "clerk"
    assert result["unit"] == UNIT
    assert result["heartbeatMs"] == 10000
    assert result["server"].startswith("windowrelay/")
