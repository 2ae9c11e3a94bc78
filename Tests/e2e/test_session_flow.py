"""PROTOCOL §3 from an independent client: create → queue.watch sees it → accept → chat → end."""

from __future__ import annotations

import requests

from conftest import Relay, needs_relay
from wire import Peer

LOCAL = "qd-xihaian"
REMOTE = "cd-gaoxin"
SERVICE = "social-insurance-transfer"


@needs_relay
def test_a_whole_session_between_two_units(relay: Relay) -> None:
    approver = Peer(relay.url, relay.token("e2e-approver", "approver", unit=REMOTE, name="李审批"))
    watch = approver.ok({"type": "queue.watch"})
    assert watch == {"unit": REMOTE, "waiting": []}

    clerk = Peer(relay.url, relay.token("e2e-clerk", "clerk", unit=LOCAL, name="王窗口"))
    created = clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE,
                        "applicant": {"name": "张三", "idTail": "001X"}, "note": "社保转入"})
    session = created["session"]
    assert session["state"] == "queued"
    assert session["service"] == SERVICE and session["fromUnit"] == LOCAL
    sid = session["id"]
    assert clerk.wait_for("session.state", sessionId=sid)["seq"] == 1
    assert clerk.wait_for("participant.joined", sessionId=sid)["seq"] == 2

    update = approver.wait_for("queue.update")
    assert update["unit"] == REMOTE
    assert [(e["sessionId"], e["position"], e["fromUnit"]) for e in update["waiting"]] == [(sid, 1, LOCAL)]

    approver.ok({"type": "session.accept", "sessionId": sid})
    assert approver.wait_for("queue.update")["waiting"] == []
    state = clerk.wait_for("session.state", sessionId=sid)
    assert state["session"]["state"] == "active"
    assert clerk.wait_for("participant.joined", sessionId=sid)["participant"]["id"] == "e2e-approver"

    approver.ok({"type": "chat.send", "sessionId": sid, "text": "请出示身份证原件"})
    chat = clerk.wait_for("chat", sessionId=sid)
    assert chat["text"] == "请出示身份证原件" and chat["actor"] == "e2e-approver"
    assert approver.wait_for("chat", sessionId=sid)["seq"] == chat["seq"]

    clerk.ok({"type": "session.end", "sessionId": sid, "outcome": "completed", "note": "办结"})
    ended = approver.wait_for("session.ended", sessionId=sid)
    assert ended["outcome"] == "completed"
    assert len(ended["recordHead"]) == 64

    # The record is served to a participant, with a chain that ends where the events end.
    record = requests.get(f"{relay.http}/v1/sessions/{sid}/record",
                          headers={"Authorization": f"Bearer {relay.token('e2e-clerk', 'clerk', unit=LOCAL)}"},
                          timeout=10).json()
    seqs = [e["seq"] for e in record["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert record["events"][-1]["type"] == "session.ended"
    assert record["head"] == record["events"][-1]["hash"]
    for peer in (clerk, approver):
        peer.close()
