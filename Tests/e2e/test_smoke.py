"""Smoke test: a clerk connects and says hello (PROTOCOL §1)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
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


@needs_relay
@pytest.mark.parametrize("event_loop", ["libev", "poll"])
def test_sigterm_closes_every_client_with_1001_and_exits_0(relay_factory, event_loop: str) -> None:
    """The relay, not libwebsockets, owns SIGTERM on either event loop (decisions D18): lws's libev
    mode would catch it itself unless the loop is ours."""
    relay = relay_factory(listen={"eventLoop": event_loop})
    token = relay.token("clerk-sigterm", "clerk", unit=UNIT)
    with connect(relay.url, open_timeout=10, close_timeout=5) as websocket:
        websocket.send(json.dumps({"type": "hello", "id": "1", "token": token}))
        assert json.loads(websocket.recv(timeout=10))["type"] == "ok"
        relay.process.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                websocket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001, closed.value
    assert relay.process.wait(timeout=20) == 0


@needs_relay
def test_threads_are_named_for_top_and_perf(relay: Relay) -> None:
    """docs/operations.md tells operators to find the service loop as `wr-service` in `top -H`."""
    tasks = Path(f"/proc/{relay.process.pid}/task")
    names = {(task / "comm").read_text().strip() for task in tasks.iterdir()}
    assert {"wr-service", "wr-store", "wr-recorder", "wr-documents"} <= names, names
