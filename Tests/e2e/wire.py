"""A small protocol helper over the `websockets` sync client: hello, requests, waiting for types."""

from __future__ import annotations

import json
import itertools
from typing import Any

from websockets.sync.client import ClientConnection, connect

_ids = itertools.count(1)


class Peer:
    """One device: a WebSocket that said hello, with the messages it saw kept in `seen`."""

    def __init__(self, url: str, token: str, **connect_args: Any) -> None:
        self._connection = connect(url, open_timeout=10, close_timeout=5, **connect_args)
        self.ws: ClientConnection = self._connection.__enter__()
        self.seen: list[dict[str, Any]] = []
        self.hello = self.request({"type": "hello", "token": token, "client": "e2e/1"})
        assert self.hello["type"] == "ok", self.hello

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message, ensure_ascii=False))

    def recv(self, timeout: float = 10) -> dict[str, Any]:
        message = json.loads(self.ws.recv(timeout=timeout))
        self.seen.append(message)
        return message

    def request(self, message: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Sends `message` with a fresh id and returns its ok/error reply (other messages are kept in `seen`)."""
        request_id = f"r{next(_ids)}"
        self.send({**message, "id": request_id})
        while True:
            reply = self.recv(timeout)
            if reply.get("type") in ("ok", "error") and reply.get("id") == request_id:
                return reply

    def ok(self, message: dict[str, Any]) -> dict[str, Any]:
        reply = self.request(message)
        assert reply["type"] == "ok", reply
        return reply["result"]

    def wait_for(self, type_: str, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """The first message of `type_` (already seen or arriving) whose fields match."""
        for message in self.seen:
            if message.get("type") == type_ and all(message.get(k) == v for k, v in fields.items()):
                self.seen.remove(message)
                return message
        while True:
            message = self.recv(timeout)
            if message.get("type") == type_ and all(message.get(k) == v for k, v in fields.items()):
                self.seen.remove(message)
                return message

    def close(self) -> None:
        self._connection.__exit__(None, None, None)
