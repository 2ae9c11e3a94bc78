"""PROTOCOL §1 from an independent client: refusals close with 4401, a second device replaces with 4409."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import REPO, Relay, needs_relay

UNIT = "qd-xihaian"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header: dict, claims: dict, key: bytes | None) -> str:
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    if key is None:
        return signing_input + "."
    return signing_input + "." + b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


def secret() -> bytes:
    return (REPO / "config" / "dev-secret.txt").read_bytes().rstrip()


def claims(**extra: object) -> dict:
    base = {"sub": "e2e-x", "role": "clerk", "unit": UNIT, "exp": int(time.time()) + 600}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


HS256 = {"alg": "HS256", "typ": "JWT"}
BAD_TOKENS = {
    "alg none": lambda: jwt({"alg": "none", "typ": "JWT"}, claims(), None),
    "HS512 header": lambda: jwt({"alg": "HS512", "typ": "JWT"}, claims(), secret()),
    "bad signature": lambda: jwt(HS256, claims(), b"not-the-secret-not-the-secret-not-the-secret"),
    "expired": lambda: jwt(HS256, claims(exp=int(time.time()) - 120), secret()),
    "missing exp": lambda: jwt(HS256, claims(exp=None), secret()),
    "missing sub": lambda: jwt(HS256, claims(sub=None), secret()),
    "missing role": lambda: jwt(HS256, claims(role=None), secret()),
    "unknown role": lambda: jwt(HS256, claims(role="mayor"), secret()),
    "garbage": lambda: "garbage",
}


def close_code(websocket) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            websocket.recv(timeout=15)
    return closed.value.rcvd.code if closed.value.rcvd else None


@needs_relay
def test_hello_with_a_python_signed_token_is_accepted(relay: Relay) -> None:
    with connect(relay.url, open_timeout=10) as websocket:
        websocket.send(json.dumps({"type": "hello", "id": "1", "token": jwt(HS256, claims(), secret())}))
        reply = json.loads(websocket.recv(timeout=10))
    assert reply == {
        "type": "ok",
        "id": "1",
        "result": {
            "participant": "e2e-x",
            "role": "clerk",
            "unit": UNIT,
            "heartbeatMs": 10000,
            "server": reply["result"]["server"],
        },
    }


@needs_relay
@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
def test_each_bad_token_gets_unauthorized_then_4401(relay: Relay, name: str) -> None:
    with connect(relay.url, open_timeout=10) as websocket:
        websocket.send(json.dumps({"type": "hello", "id": "h1", "token": BAD_TOKENS[name]()}))
        error = json.loads(websocket.recv(timeout=10))
        assert error["type"] == "error"
        assert error["code"] == "unauthorized"
        assert error["id"] == "h1"
        assert close_code(websocket) == 4401


@needs_relay
def test_no_hello_is_closed_with_4401(relay_factory) -> None:
    relay = relay_factory(sessions={"helloTimeoutSeconds": 1})
    with connect(relay.url, open_timeout=10) as websocket:
        assert close_code(websocket) == 4401


@needs_relay
def test_a_second_device_with_the_same_sub_replaces_the_first_with_4409(relay: Relay) -> None:
    token = relay.token("e2e-clerk", "clerk", unit=UNIT)
    with connect(relay.url, open_timeout=10) as first:
        first.send(json.dumps({"type": "hello", "id": "1", "token": token}))
        assert json.loads(first.recv(timeout=10))["type"] == "ok"
        with connect(relay.url, open_timeout=10) as second:
            second.send(json.dumps({"type": "hello", "id": "1", "token": token}))
            assert json.loads(second.recv(timeout=10))["type"] == "ok"
            assert close_code(first) == 4409
            second.send(json.dumps({"type": "queue.watch", "id": "2"}))
            assert json.loads(second.recv(timeout=10))["type"] == "ok"
