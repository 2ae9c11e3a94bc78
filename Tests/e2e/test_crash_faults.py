"""kill -9 at random moments of a scripted run of several sessions (chat, uploads, audio), then a
restart on the same data folder, three times over. After it: every acknowledged event is in the
record in order, every partial upload resumes and completes intact, every record verifies and every
recording of more than a second plays. The seed is printed; FAULT_SEED=N repeats a run."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import requests
from websockets.exceptions import ConnectionClosed

from conftest import Relay, needs_relay
from test_audio import audio_frame, opus_packet
from test_documents import CHUNK, chunk, pdf_bytes
from wire import Peer

LOCAL, REMOTE, SERVICE = "qd-xihaian", "cd-gaoxin", "social-insurance-transfer"
SESSIONS = 4
ROUNDS = 3
BROKEN = (ConnectionClosed, OSError, TimeoutError, AssertionError, KeyError)


class Script:
    """One session's devices and what the relay acknowledged to them."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.index = index
        self.clerk_sub = f"fault-clerk-{index}"
        self.approver_sub = f"fault-approver-{index}"
        self.sid = ""
        self.acked: list[str] = []
        self.document = pdf_bytes(3 * CHUNK + rng.randrange(1, CHUNK))
        self.sha256 = hashlib.sha256(self.document).hexdigest()
        self.upload: int | None = None
        self.offset = 0
        self.available = False
        self.clerk: Peer | None = None
        self.approver: Peer | None = None
        self.track = 0
        self.seq = 0
        self.said = 0

    def connect(self, relay: Relay) -> None:
        self.clerk = Peer(relay.url, relay.token(self.clerk_sub, "clerk", unit=LOCAL))
        self.approver = Peer(relay.url, relay.token(self.approver_sub, "approver", unit=REMOTE))
        if not self.sid:
            self.sid = self.clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE})["session"]["id"]
            self.approver.ok({"type": "session.accept", "sessionId": self.sid})
        else:
            for peer in (self.clerk, self.approver):
                peer.ok({"type": "session.join", "sessionId": self.sid, "lastSeq": 0})
        self.track = self.clerk.ok({"type": "audio.open", "sessionId": self.sid})["track"]
        if not self.available:
            reply = self.clerk.ok({"type": "doc.offer", "sessionId": self.sid, "name": f"licence-{self.index}.pdf",
                                   "mime": "application/pdf", "size": len(self.document), "sha256": self.sha256})
            self.upload, self.offset = reply["upload"], reply["offset"]

    def step(self) -> None:
        """One round of traffic: a chat line, a few audio frames, one upload chunk."""
        assert self.clerk is not None
        text = f"{self.sid} line {self.said}"
        self.said += 1
        if self.clerk.request({"type": "chat.send", "sessionId": self.sid, "text": text}, timeout=5)["type"] == "ok":
            self.acked.append(text)
        for _ in range(5):
            self.clerk.ws.send(audio_frame(self.track, self.seq, self.seq * 960, opus_packet(70 + self.seq % 40)))
            self.seq += 1
        if self.upload is not None and self.offset < len(self.document):
            end = min(self.offset + CHUNK, len(self.document))
            self.clerk.ws.send(chunk(self.upload, self.offset, self.document[self.offset:end]))
            self.offset = end
        if any(m.get("type") == "doc.available" for m in self.clerk.seen):
            self.available = True

    def drop(self) -> None:
        """Lets go of the sockets without a closing handshake: the relay may be dead, and the
        approver's unread audio fills the client's queue, so a polite close would wait it out."""
        for peer in (self.clerk, self.approver):
            if peer is not None:
                peer.ws.close_socket()


def kill_later(relay: Relay, after: float) -> threading.Thread:
    def kill() -> None:
        time.sleep(after)
        relay.process.kill()
    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@needs_relay
def test_random_kill9_loses_nothing_acknowledged(relay_factory: Callable[..., Relay]) -> None:
    seed = int(os.environ.get("FAULT_SEED", time.time_ns() % 1_000_000))
    print(f"FAULT_SEED={seed}")
    rng = random.Random(seed)
    relay = relay_factory()
    scripts = [Script(i, rng) for i in range(SESSIONS)]
    for round_ in range(ROUNDS):
        for script in scripts:
            script.connect(relay)
        killer = kill_later(relay, rng.uniform(0.2, 1.2))
        try:
            while True:
                for script in scripts:
                    script.step()
        except BROKEN:
            pass
        killer.join()
        relay.process.wait(timeout=10)
        for script in scripts:
            script.drop()
        relay = Relay(relay.binary, relay.config, relay.directory)

    try:
        auth = {"Authorization": f"Bearer {relay.token('ops-faults', 'ops')}"}
        for script in scripts:
            script.connect(relay)
            # Uploads resume where the relay's bytes end, and complete intact.
            if not script.available:
                assert script.upload is not None
                while script.offset < len(script.document):
                    end = min(script.offset + CHUNK, len(script.document))
                    script.clerk.ws.send(chunk(script.upload, script.offset, script.document[script.offset:end]))
                    script.offset = end
            document = script.approver.wait_for("doc.available", sessionId=script.sid, timeout=30)["document"]
            assert document["sha256"] == script.sha256
            url = f"{relay.http}/v1/sessions/{script.sid}/documents/{document['id']}"
            staff = {"Authorization": f"Bearer {relay.token(script.clerk_sub, 'clerk', unit=LOCAL)}"}
            assert requests.get(url, headers=staff, timeout=30).content == script.document
            script.clerk.ok({"type": "session.end", "sessionId": script.sid, "outcome": "completed"})

            # Every acknowledged chat line is in the record, in the order it was acknowledged.
            record = requests.get(f"{relay.http}/v1/sessions/{script.sid}/record", headers=staff, timeout=30).json()
            recorded = [e["data"]["text"] for e in record["events"] if e["type"] == "chat"]
            position = 0
            for text in script.acked:
                assert text in recorded[position:], f"acknowledged {text!r} is missing (FAULT_SEED={seed})"
                position = recorded.index(text, position) + 1
            assert script.acked, f"nothing was acknowledged in session {script.index} (FAULT_SEED={seed})"

            verify = subprocess.run([relay.binary, "record", "verify", script.sid, "--config", str(relay.config)],
                                    capture_output=True, text=True, timeout=60, check=False)
            assert verify.returncode == 0, f"FAULT_SEED={seed}: {verify.stdout}{verify.stderr}"
            ops_view = requests.get(f"{relay.http}/v1/sessions/{script.sid}/record", headers=auth, timeout=30).json()
            for track in ops_view["tracks"]:
                if track.get("durationMs", 0) < 1000:
                    continue
                path = Path(relay.directory) / "data" / track["file"]
                info = subprocess.run(["opusinfo", str(path)], capture_output=True, text=True, timeout=60, check=False)
                assert info.returncode == 0, f"FAULT_SEED={seed}: {info.stdout}"
            script.drop()
    finally:
        relay.stop()
