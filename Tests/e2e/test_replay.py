"""PROTOCOL §3 replay from an independent client: a device that drops (or is replaced) and joins with lastSeq
gets exactly the events it missed, in order, once, then live events."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from conftest import Relay, needs_relay
from wire import Peer

LOCAL = "qd-xihaian"
REMOTE = "cd-gaoxin"
SERVICE = "social-insurance-transfer"


def active_session(relay: Relay) -> tuple[Peer, Peer, str]:
    """A session created by a clerk of LOCAL and accepted by an approver of REMOTE: (clerk, approver, id)."""
    clerk = Peer(relay.url, relay.token("e2e-clerk", "clerk", unit=LOCAL))
    approver = Peer(relay.url, relay.token("e2e-approver", "approver", unit=REMOTE))
    sid = clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE})["session"]["id"]
    approver.ok({"type": "session.accept", "sessionId": sid})
    clerk.wait_for("participant.joined", sessionId=sid, actor="e2e-approver")
    return clerk, approver, sid


def last_seq(peer: Peer, sid: str) -> int:
    return max(m["seq"] for m in peer.seen if m.get("sessionId") == sid and "seq" in m)


def chat(peer: Peer, sid: str, texts: list[str]) -> None:
    """Sends the chats back to back, then waits for every ok."""
    ids = []
    for i, text in enumerate(texts):
        request_id = f"chat-{text}-{i}"
        ids.append(request_id)
        peer.send({"type": "chat.send", "id": request_id, "sessionId": sid, "text": text})
    pending = set(ids)
    while pending:
        message = peer.recv()
        if message.get("id") in pending:
            assert message["type"] == "ok", message
            pending.remove(message["id"])


def events_until_barrier(peer: Peer, sid: str) -> list[dict[str, Any]]:
    """The events of `sid` that arrive before the reply to an unknown request (sent now), which the server
    releases behind everything already due to this connection."""
    peer.send({"type": "e2e.barrier", "id": "barrier"})
    events = []
    while True:
        message = peer.recv()
        if message.get("id") == "barrier":
            assert message["code"] == "bad_request", message
            return events
        if message.get("sessionId") == sid and "seq" in message:
            events.append(message)


def join(peer: Peer, sid: str, after: int) -> dict[str, Any]:
    """session.join with lastSeq; the ok reply (nothing arrives before it on a fresh connection)."""
    peer.send({"type": "session.join", "id": "join", "sessionId": sid, "lastSeq": after})
    reply = peer.recv()
    assert reply["type"] == "ok" and reply["id"] == "join", reply
    return reply["result"]


@needs_relay
def test_a_dropped_device_gets_exactly_the_fifty_events_it_missed(relay: Relay) -> None:
    clerk, approver, sid = active_session(relay)
    seen = last_seq(approver, sid)
    approver.close()
    away = clerk.wait_for("participant.away", sessionId=sid)
    assert away["participant"]["id"] == "e2e-approver" and away["actor"] == "server"
    chat(clerk, sid, [f"missed {i}" for i in range(1, 51)])

    again = Peer(relay.url, relay.token("e2e-approver", "approver", unit=REMOTE))
    result = join(again, sid, seen)
    assert result["replayed"] is True
    assert result["lastSeq"] == seen + 52  # away, 50 chats, back
    assert clerk.wait_for("participant.back", sessionId=sid)["participant"]["id"] == "e2e-approver"
    chat(clerk, sid, ["live"])

    events = events_until_barrier(again, sid)
    assert [e["seq"] for e in events] == list(range(seen + 1, seen + 54))
    assert [e["type"] for e in events] == ["participant.away"] + ["chat"] * 50 + ["participant.back", "chat"]
    assert [e["text"] for e in events if e["type"] == "chat"] == [f"missed {i}" for i in range(1, 51)] + ["live"]
    for peer in (clerk, again):
        peer.close()


@needs_relay
def test_a_replacing_connection_replays_without_going_away(relay: Relay) -> None:
    clerk, first, sid = active_session(relay)
    seen = last_seq(first, sid)
    chat(clerk, sid, [f"while {i}" for i in range(1, 6)])

    second = Peer(relay.url, relay.token("e2e-approver", "approver", unit=REMOTE))
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            first.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409
    result = join(second, sid, seen)
    assert result["replayed"] is True
    assert result["lastSeq"] == seen + 5
    events = events_until_barrier(second, sid)
    assert [e["text"] for e in events] == [f"while {i}" for i in range(1, 6)]
    assert [e["seq"] for e in events] == list(range(seen + 1, seen + 6))

    # Nothing happened in the session: the device never went away.
    clerk_events = events_until_barrier(clerk, sid)
    assert not [e for e in clerk.seen + clerk_events if e.get("type") in ("participant.away", "participant.back")]
    # Joining at the latest seq replays nothing.
    assert join(second, sid, seen + 5)["replayed"] is False
    assert events_until_barrier(second, sid) == []
    for peer in (clerk, second):
        peer.close()
