"""PROTOCOL §6 from an independent client: audio frames are relayed unchanged; a receiver that stops
reading loses its oldest audio and is closed with 4408 once it is too far behind."""

from __future__ import annotations

import os
import struct
import time

import pytest
from websockets.exceptions import ConnectionClosed

from conftest import Relay, needs_relay
from wire import Peer

LOCAL, REMOTE, SERVICE = "qd-xihaian", "cd-gaoxin", "social-insurance-transfer"


def opus_packet(size: int) -> bytes:
    """A structurally valid Opus packet: TOC 0xF8 (CELT FB 20 ms, one frame) and `size - 1` payload bytes."""
    return b"\xf8" + os.urandom(size - 1)


def audio_frame(track: int, seq: int, timestamp: int, packet: bytes) -> bytes:
    return struct.pack(">BHHI", 0x01, track, seq & 0xFFFF, timestamp & 0xFFFFFFFF) + packet


def relay_frames(sender: Peer, receiver: Peer, frames: list[bytes]) -> list[bytes]:
    """Sends `frames` from `sender`; returns the first as many binary messages `receiver` gets."""
    for frame in frames:
        sender.ws.send(frame)
    received: list[bytes] = []
    while len(received) < len(frames):
        message = receiver.ws.recv(timeout=10)
        if isinstance(message, bytes):
            received.append(message)
    return received


def active_session(relay: Relay, **peer_args) -> tuple[Peer, Peer, str]:
    clerk = Peer(relay.url, relay.token("e2e-audio-clerk", "clerk", unit=LOCAL))
    approver = Peer(relay.url, relay.token("e2e-audio-approver", "approver", unit=REMOTE), **peer_args)
    sid = clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE})["session"]["id"]
    approver.ok({"type": "session.accept", "sessionId": sid})
    clerk.wait_for("session.state", sessionId=sid, timeout=10)
    return clerk, approver, sid


@needs_relay
def test_frames_reach_the_other_side_unchanged(relay: Relay) -> None:
    clerk, approver, sid = active_session(relay)
    track = clerk.ok({"type": "audio.open", "sessionId": sid, "codec": "opus", "sampleRate": 48000, "channels": 1})["track"]
    assert track == 1
    assert approver.wait_for("track.added", sessionId=sid)["participant"]["id"] == "e2e-audio-clerk"
    sent = [audio_frame(track, i, i * 960, opus_packet(60 + i % 60)) for i in range(100)]
    assert relay_frames(clerk, approver, sent) == sent


@needs_relay
def test_a_receiver_that_stops_reading_is_closed_with_4408(relay_factory) -> None:
    relay = relay_factory(limits={"sendQueueBytes": 65536, "messagesPerSecond": 100000, "bytesPerSecond": 1 << 30})
    # The approver's client stops reading: websockets stops reading the socket once its queue is full.
    clerk, approver, sid = active_session(relay, max_queue=1)
    track = clerk.ok({"type": "audio.open", "sessionId": sid})["track"]
    code = None
    deadline = time.monotonic() + 30
    seq = 0
    while code is None and time.monotonic() < deadline:
        for _ in range(200):
            clerk.ws.send(audio_frame(track, seq, seq * 960, opus_packet(1200)))
            seq += 1
        time.sleep(0.01)
        metrics = relay_metrics(relay)
        if metrics.get('windowrelay_send_queue_overflows_total', 0) >= 1:
            code = "overflowed"
    assert code == "overflowed", "the slow receiver was never closed"
    # The clerk is unaffected and still served.
    assert clerk.ok({"type": "chat.send", "sessionId": sid, "text": "still here"}) == {}
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            approver.ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
    dropped = relay_metrics(relay).get('windowrelay_audio_packets_total{result="dropped"}', 0)
    assert dropped > 0


def relay_metrics(relay: Relay) -> dict[str, float]:
    import requests

    values: dict[str, float] = {}
    for line in requests.get(f"{relay.http}/metrics", timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values
