"""PROTOCOL §5 from an independent client: an approver guides, the applicant (with the token the clerk made by
session.applicantToken) fills, a conflict, a suggestion taken, submit refused then accepted with the right sha256;
a reconnect mid-form gets the state in session.join; a restart keeps it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

from conftest import Relay, needs_relay
from wire import Peer

LOCAL = "qd-xihaian"
REMOTE = "sz-futian"
SERVICE = "business-licence-change"
FORM = "business-licence"


class Device(Peer):
    """A Peer whose upgrade request may carry Accept-Language and whose hello may carry `lang`."""

    def __init__(self, url: str, token: str, lang: str | None = None, accept_language: str | None = None) -> None:
        headers = {"Accept-Language": accept_language} if accept_language else None
        self._connection = connect(url, open_timeout=10, close_timeout=5, additional_headers=headers)
        self.ws = self._connection.__enter__()
        self.seen: list[dict[str, Any]] = []
        hello: dict[str, Any] = {"type": "hello", "token": token, "client": "e2e-forms/1"}
        if lang is not None:
            hello["lang"] = lang
        self.hello = self.request(hello)
        assert self.hello["type"] == "ok", self.hello


def canonical_sha256(values: dict[str, Any]) -> str:
    """SHA-256 of RFC 8785 JSON; for string keys in the BMP and integer or string values that is sorted keys,
    no spaces, UTF-8 as is."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def form_set(sid: str, form_id: str, field: str, value: Any, base: int) -> dict[str, Any]:
    return {"type": "form.set", "sessionId": sid, "formId": form_id, "field": field, "value": value,
            "baseVersion": base}


def window(relay: Relay) -> tuple[Peer, Peer, str, str]:
    """An active session: clerk at LOCAL created it, approver at REMOTE accepted it; and an applicant token."""
    clerk = Peer(relay.url, relay.token("e2e-clerk", "clerk", unit=LOCAL, name="王窗口"))
    approver = Peer(relay.url, relay.token("e2e-approver", "approver", unit=REMOTE, name="李审批"))
    sid = clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE})["session"]["id"]
    approver.ok({"type": "session.accept", "sessionId": sid})
    grant = clerk.ok({"type": "session.applicantToken", "sessionId": sid, "ttlSeconds": 600})
    assert grant["expiresAt"].endswith("Z")
    return clerk, approver, sid, grant["token"]


@needs_relay
def test_guided_form_from_open_to_submit_with_a_reconnect(relay: Relay) -> None:
    clerk, approver, sid, applicant_token = window(relay)
    applicant = Device(relay.url, applicant_token, lang="en")
    assert applicant.hello["result"]["role"] == "applicant" and applicant.hello["result"]["lang"] == "en"
    joined = applicant.ok({"type": "session.join", "sessionId": sid})
    assert joined["forms"] == []

    assert applicant.request({"type": "form.open", "sessionId": sid, "form": FORM})["code"] == "forbidden"
    form_id = approver.ok({"type": "form.open", "sessionId": sid, "form": FORM})["formId"]
    assert form_id.startswith("f_")
    opened = applicant.wait_for("form.opened", formId=form_id)
    assert opened["template"]["id"] == FORM and opened["values"] == {} and opened["versions"]["phone"] == 0

    approver.ok({"type": "form.guide", "sessionId": sid, "formId": form_id, "field": "creditCode",
                 "kind": "highlight"})
    approver.ok({"type": "form.guide", "sessionId": sid, "formId": form_id, "field": "phone", "kind": "hint",
                 "text": "11 位手机号"})
    approver.ok({"type": "form.guide", "sessionId": sid, "formId": form_id, "field": "changeItem",
                 "kind": "suggest", "text": "选住所", "value": "住所"})
    assert [applicant.wait_for("form.guidance")["kind"] for _ in range(3)] == ["highlight", "hint", "suggest"]

    assert applicant.ok(form_set(sid, form_id, "companyName", "青岛海岸科技有限公司", 0)) == {"version": 1}
    applicant.ok(form_set(sid, form_id, "phone", "1381234", 0))
    changed = approver.wait_for("form.changed", field="phone")
    assert changed["problems"] == [{"code": "pattern", "message": '"联系电话" is not in the required format'}]
    assert changed["actor"] == f"applicant-{sid}"

    # Two devices, one field: the stale write is a conflict carrying the current value and version.
    stale = clerk.request(form_set(sid, form_id, "phone", "13812345678", 0))
    assert stale["code"] == "conflict" and stale["current"] == {"value": "1381234", "version": 1}
    assert clerk.ok(form_set(sid, form_id, "phone", "13812345678", 1)) == {"version": 2}

    assert applicant.ok({"type": "form.acceptSuggestion", "sessionId": sid, "formId": form_id,
                         "field": "changeItem"}) == {"version": 1}
    assert approver.wait_for("form.changed", field="changeItem")["value"] == "住所"

    refused = applicant.request({"type": "form.submit", "sessionId": sid, "formId": form_id})
    assert refused["code"] == "bad_request"
    assert set(refused["problems"]) == {"creditCode", "legalRepName", "legalRepId", "changeDate"}
    assert refused["problems"]["changeDate"][0]["code"] == "required"

    # The device drops mid-form and comes back (Accept-Language instead of lang) with the seq it had.
    seen_through = joined["lastSeq"]
    for message in applicant.seen:
        seen_through = max(seen_through, message.get("seq", 0))
    applicant.close()
    clerk.wait_for("participant.away")
    clerk.ok(form_set(sid, form_id, "creditCode", "91370211MA3C123456", 0))
    clerk.ok(form_set(sid, form_id, "legalRepId", "110105194912310021", 0))
    applicant = Device(relay.url, applicant_token, accept_language="en-US,en;q=0.9,zh;q=0.5")
    assert "lang" not in applicant.hello["result"], "a plain hello's result is as PROTOCOL §1 shows it"
    rejoined = applicant.ok({"type": "session.join", "sessionId": sid, "lastSeq": seen_through})
    assert rejoined["replayed"] is True
    [state] = rejoined["forms"]
    assert state["formId"] == form_id and state["submitted"] is False
    assert state["values"]["creditCode"] == "91370211MA3C123456" and state["versions"]["creditCode"] == 1
    assert state["values"]["changeItem"] == "住所" and state["suggestions"] == {}
    assert state["guidance"]["phone"]["hint"] == {"text": "11 位手机号"}
    # Problems in this device's language, from its Accept-Language.
    assert state["problems"] == {"legalRepId": [{
        "code": "idNumber",
        "message": '"法定代表人居民身份证号码" has a check character that does not match; please check the number'}]}
    missed = applicant.wait_for("form.changed", field="creditCode")
    assert seen_through < missed["seq"] <= rejoined["lastSeq"]

    applicant.ok(form_set(sid, form_id, "legalRepId", "11010519491231002X", 1))
    for field, value in (("legalRepName", "王五"), ("changeDate", "2026-11-20"), ("capital", 500)):
        applicant.ok(form_set(sid, form_id, field, value, 0))
    submitted = clerk.ok({"type": "form.submit", "sessionId": sid, "formId": form_id})
    values = {"companyName": "青岛海岸科技有限公司", "phone": "13812345678", "changeItem": "住所",
              "creditCode": "91370211MA3C123456", "legalRepName": "王五", "legalRepId": "11010519491231002X",
              "changeDate": "2026-11-20", "capital": 500}
    assert submitted == {"sha256": canonical_sha256(values)}
    event = applicant.wait_for("form.submitted", formId=form_id)
    assert event["values"] == values and event["sha256"] == canonical_sha256(values)

    # The form events are the session's record, chained like every other event.
    record = requests.get(f"{relay.http}/v1/sessions/{sid}/record",
                          headers={"Authorization": f"Bearer {relay.token('e2e-clerk', 'clerk', unit=LOCAL)}"},
                          timeout=10).json()
    types = [e["type"] for e in record["events"]]
    assert types.count("form.guidance") == 3 and types[-1] == "form.submitted"
    assert record["events"][-1]["data"]["sha256"] == canonical_sha256(values)
    for peer in (clerk, approver, applicant):
        peer.close()


@needs_relay
def test_a_bad_lang_is_refused_and_hello_can_be_sent_again(relay: Relay) -> None:
    device = Device(relay.url, relay.token("e2e-lang", "clerk", unit=LOCAL), lang="zh-CN")
    assert device.hello["result"]["lang"] == "zh"
    device.close()
    with connect(relay.url, open_timeout=10, close_timeout=5) as ws:
        ws.send(json.dumps({"type": "hello", "id": "1", "lang": "fr", "token": relay.token("e2e-fr", "clerk",
                                                                                         unit=LOCAL)}))
        error = json.loads(ws.recv(timeout=10))
        assert error["code"] == "bad_request" and error["field"] == "lang" and error["id"] == "1"
        ws.send(json.dumps({"type": "hello", "id": "2", "lang": "en", "token": relay.token("e2e-fr", "clerk",
                                                                                         unit=LOCAL)}))
        assert json.loads(ws.recv(timeout=10))["result"]["lang"] == "en"


@needs_relay
def test_form_state_survives_a_restart(relay_factory: Any, tmp_path: Path) -> None:
    data = tmp_path / "shared-data"
    first = relay_factory(storage={"dataDir": str(data)})
    clerk, approver, sid, _ = window(first)
    form_id = approver.ok({"type": "form.open", "sessionId": sid, "form": FORM})["formId"]
    clerk.ok(form_set(sid, form_id, "companyName", "海岸科技", 0))
    clerk.ok(form_set(sid, form_id, "companyName", "海岸科技有限公司", 1))
    approver.ok({"type": "form.guide", "sessionId": sid, "formId": form_id, "field": "changeItem",
                 "kind": "suggest", "value": "名称"})
    assert first.stop() == 0

    second = relay_factory(storage={"dataDir": str(data)})
    clerk = Peer(second.url, second.token("e2e-clerk", "clerk", unit=LOCAL))
    [state] = clerk.ok({"type": "session.join", "sessionId": sid})["forms"]
    assert state["values"] == {"companyName": "海岸科技有限公司"} and state["versions"]["companyName"] == 2
    assert state["suggestions"] == {"changeItem": "名称"}
    assert clerk.request(form_set(sid, form_id, "companyName", "x", 1))["current"]["version"] == 2
    assert clerk.ok(form_set(sid, form_id, "companyName", "海岸", 2)) == {"version": 3}
    clerk.close()
