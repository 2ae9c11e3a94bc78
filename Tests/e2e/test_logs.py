"""Structured logs (log.format: json): one JSON object per line, session and participant on the
lines about them, and never the content of a session (names, chat text, notes)."""

from __future__ import annotations

import json
import time
from typing import Callable

from conftest import Relay, needs_relay
from wire import Peer

LOCAL = "qd-xihaian"
REMOTE = "cd-gaoxin"
SECRET_WORDS = ["张三", "请出示身份证原件", "社保转入备注"]


def json_lines(relay: Relay) -> list[dict]:
    lines = []
    for line in relay.output:
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def wait_for_line(relay: Relay, **fields: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(all(line.get(k) == v for k, v in fields.items()) for line in json_lines(relay)):
            return
        time.sleep(0.05)
    raise AssertionError(f"no log line with {fields}:\n{relay.log()}")


@needs_relay
def test_json_log_lines_name_session_and_participant_and_keep_content_out(
        relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(log={"format": "json", "level": "debug"})
    clerk = Peer(relay.url, relay.token("log-clerk", "clerk", unit=LOCAL))
    approver = Peer(relay.url, relay.token("log-approver", "approver", unit=REMOTE))
    sid = clerk.ok({"type": "session.create", "service": "social-insurance-transfer", "toUnit": REMOTE,
                    "applicant": {"name": "张三", "idTail": "001X"}, "note": "社保转入备注"})["session"]["id"]
    approver.ok({"type": "session.accept", "sessionId": sid})
    approver.ok({"type": "chat.send", "sessionId": sid, "text": "请出示身份证原件"})
    # The approver's device drops mid-session: its line names the sessions it was in.
    approver.close()
    wait_for_line(relay, message="connection closed", participant="log-approver")
    clerk.ok({"type": "session.end", "sessionId": sid, "outcome": "completed"})
    clerk.close()
    wait_for_line(relay, message="connection closed", participant="log-clerk")
    lines = json_lines(relay)
    assert lines, relay.log()
    for line in lines:
        assert {"at", "level", "label", "message"} <= line.keys()
    # Once at start: which event loop serves the sockets (listen.eventLoop, default libev on epoll).
    assert [line["backend"] for line in lines if line["message"] == "event loop"] == ["libev epoll"], relay.log()

    about = [line for line in lines if line.get("session") == sid]
    messages = [line["message"] for line in about]
    for expected in ("session.state", "participant.joined", "chat", "session.ended"):
        assert expected in messages, messages
    joined = [line for line in about if line["message"] == "participant.joined"]
    assert {line["participant"] for line in joined} == {"log-clerk", "log-approver"}
    assert all(line["level"] == "info" for line in joined)
    assert next(line for line in about if line["message"] == "chat")["level"] == "debug"
    assert next(line for line in about if line["message"] == "session.ended")["outcome"] == "completed"
    hello = [line for line in lines if line["message"] == "hello"]
    assert {line["participant"] for line in hello} == {"log-clerk", "log-approver"}
    dropped = next(line for line in lines if line["message"] == "connection closed"
                   and line["participant"] == "log-approver")
    assert dropped["sessions"] == sid
    away = next(line for line in about if line["message"] == "participant.away")
    assert away["participant"] == "log-approver"

    text = "\n".join(relay.output)
    for word in SECRET_WORDS:
        assert word not in text, f"the log leaks {word}"
