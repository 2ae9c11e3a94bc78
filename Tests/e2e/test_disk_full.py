"""A full disk under the data folder (a small tmpfs): the relay refuses new writes with a clear error,
keeps relaying audio, loses nothing it acknowledged, and recovers by itself when space returns."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from conftest import Relay, needs_relay
from test_audio import audio_frame, opus_packet, relay_frames
from wire import Peer

LOCAL, REMOTE, SERVICE = "qd-xihaian", "cd-gaoxin", "social-insurance-transfer"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs (needs root, as `make test` runs in CI); unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Fills the file system of `directory` to the last byte; returns the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


@needs_relay
def test_a_full_disk_refuses_writes_keeps_audio_and_recovers(
        relay_factory: Callable[..., Relay], small_disk: Path) -> None:
    relay = relay_factory(storage={"dataDir": str(small_disk / "data")})
    clerk = Peer(relay.url, relay.token("disk-clerk", "clerk", unit=LOCAL))
    approver = Peer(relay.url, relay.token("disk-approver", "approver", unit=REMOTE))
    sid = clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE})["session"]["id"]
    approver.ok({"type": "session.accept", "sessionId": sid})
    track = clerk.ok({"type": "audio.open", "sessionId": sid})["track"]
    clerk.ok({"type": "chat.send", "sessionId": sid, "text": "before"})

    filler = fill(small_disk)
    # Writes go on while SQLite still has room in its files; the first one that needs a page it
    # cannot get waits (retried in place, in order) and the store is marked stalled.
    pending: list[str] = []
    deadline = time.monotonic() + 30
    while requests.get(f"{relay.http}/readyz", timeout=10).status_code == 200:
        assert time.monotonic() < deadline, relay.log()
        pending.append(f"during-{len(pending)}")
        clerk.send({"type": "chat.send", "id": pending[-1], "sessionId": sid, "text": pending[-1]})
        time.sleep(0.2)
    # From now on writes are refused at once with a clear error, changing nothing.
    refused = approver.request({"type": "chat.send", "sessionId": sid, "text": "refused"})
    assert refused["type"] == "error", refused
    assert refused["code"] == "internal" and "storage cannot commit" in refused["message"]
    assert requests.get(f"{relay.http}/healthz", timeout=10).status_code == 200

    # Audio is not stored on the way: it keeps flowing while the disk is full.
    sent = [audio_frame(track, i, i * 960, opus_packet(80)) for i in range(50)]
    assert relay_frames(clerk, approver, sent) == sent

    # Space returns: the waiting request completes, new ones succeed, and the relay is ready again.
    os.remove(filler)
    for request_id in pending:
        clerk.wait_for("ok", timeout=30, id=request_id)
    approver.ok({"type": "chat.send", "sessionId": sid, "text": "after"})
    # The recording left out what it could not write, and goes on once there is room again.
    for i in range(50, 150):
        clerk.ws.send(audio_frame(track, i, i * 960, opus_packet(80)))
    clerk.ok({"type": "audio.close", "sessionId": sid, "track": track})
    clerk.ok({"type": "session.end", "sessionId": sid, "outcome": "completed"})
    assert requests.get(f"{relay.http}/readyz", timeout=10).status_code == 200

    auth = {"Authorization": f"Bearer {relay.token('disk-clerk', 'clerk', unit=LOCAL)}"}
    record = requests.get(f"{relay.http}/v1/sessions/{sid}/record", headers=auth, timeout=10).json()
    texts = [e["data"]["text"] for e in record["events"] if e["type"] == "chat"]
    assert texts == ["before", *pending, "after"]
    verify = subprocess.run([relay.binary, "record", "verify", sid, "--config", str(relay.config)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    recording = small_disk / "data" / record["tracks"][0]["file"]
    info = subprocess.run(["opusinfo", str(recording)], capture_output=True, text=True, timeout=60, check=False)
    assert info.returncode == 0, info.stdout + info.stderr
    assert "gap" not in info.stdout  # the missing pages are a gap in time, not in the page sequence
    clerk.close()
    approver.close()
