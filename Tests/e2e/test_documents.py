"""PROTOCOL §4 from an independent client: offer, binary chunks, doc.available, download, resume after kill -9."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import time

import requests

from conftest import Relay, needs_relay
from wire import Peer

LOCAL = "qd-xihaian"
REMOTE = "cd-gaoxin"
SERVICE = "social-insurance-transfer"
CHUNK = 262_144


def pdf_bytes(size: int) -> bytes:
    return (b"%PDF-1.7\n" + os.urandom(size))[:size]


def chunk(upload: int, offset: int, data: bytes) -> bytes:
    return struct.pack(">BIQ", 0x02, upload, offset) + data


def active_session(relay: Relay) -> tuple[Peer, Peer, str]:
    clerk = Peer(relay.url, relay.token("e2e-clerk", "clerk", unit=LOCAL))
    sid = clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE})["session"]["id"]
    approver = Peer(relay.url, relay.token("e2e-approver", "approver", unit=REMOTE))
    approver.ok({"type": "session.accept", "sessionId": sid})
    return clerk, approver, sid


def send_chunks(peer: Peer, upload: int, data: bytes, start: int = 0, end: int | None = None) -> None:
    end = len(data) if end is None else end
    for offset in range(start, end, CHUNK):
        peer.ws.send(chunk(upload, offset, data[offset:min(offset + CHUNK, end)]))


def offer(peer: Peer, sid: str, data: bytes, name: str = "营业执照.pdf") -> dict:
    return peer.ok({"type": "doc.offer", "sessionId": sid, "name": name, "mime": "application/pdf",
                    "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})


@needs_relay
def test_upload_then_download_gives_back_the_same_bytes(relay: Relay) -> None:
    clerk, approver, sid = active_session(relay)
    data = pdf_bytes(3 * 1024 * 1024 + 12345)
    reply = offer(clerk, sid, data)
    assert reply["offset"] == 0 and reply["chunkMax"] == CHUNK
    send_chunks(clerk, reply["upload"], data)
    progress = clerk.wait_for("doc.progress", received=len(data))
    assert progress["size"] == len(data)
    document = approver.wait_for("doc.available", sessionId=sid)["document"]
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert document["from"] == "e2e-clerk" and document["name"] == "营业执照.pdf"

    url = f"{relay.http}/v1/sessions/{sid}/documents/{document['id']}"
    auth = {"Authorization": f"Bearer {relay.token('e2e-approver', 'approver', unit=REMOTE)}"}
    whole = requests.get(url, headers=auth, timeout=30)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["ETag"] == f'"{document["sha256"]}"'
    assert "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf" in whole.headers["Content-Disposition"]
    part = requests.get(url, headers={**auth, "Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert requests.get(url, timeout=30).status_code == 401
    outsider = {"Authorization": f"Bearer {relay.token('e2e-other', 'clerk', unit='xa-yanta')}"}
    assert requests.get(url, headers=outsider, timeout=30).status_code == 403

    # The record lists the document, and `record export` writes it beside the manifest.
    record = requests.get(f"{relay.http}/v1/sessions/{sid}/record", headers=auth, timeout=30).json()
    assert [d["id"] for d in record["documents"]] == [document["id"]]
    out = relay.directory / "export"
    exported = subprocess.run([relay.binary, "record", "export", sid, "--out", str(out), "--config", str(relay.config)],
                              capture_output=True, text=True, timeout=60, check=False)
    assert exported.returncode == 0, exported.stderr
    assert "1 document to" in exported.stdout
    assert (out / "documents" / document["sha256"]).read_bytes() == data
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"][0]["name"] == "营业执照.pdf"
    assert manifest["head"] == record["head"]
    for peer in (clerk, approver):
        peer.close()


@needs_relay
def test_an_upload_resumes_after_the_relay_is_killed(relay: Relay) -> None:
    clerk, approver, sid = active_session(relay)
    data = pdf_bytes(2 * 1024 * 1024)
    upload = offer(clerk, sid, data)["upload"]
    send_chunks(clerk, upload, data, end=1024 * 1024)
    assert clerk.wait_for("doc.progress")["received"] == 1024 * 1024

    relay.process.kill()  # SIGKILL: no shutdown, no flush
    relay.process.wait(timeout=10)
    for peer in (clerk, approver):
        peer.close()
    restarted = Relay(relay.binary, relay.config, relay.directory)
    try:
        clerk = Peer(restarted.url, restarted.token("e2e-clerk", "clerk", unit=LOCAL))
        clerk.ok({"type": "session.join", "sessionId": sid})
        again = offer(clerk, sid, data)
        assert again["upload"] == upload
        assert again["offset"] == 1024 * 1024
        send_chunks(clerk, upload, data, start=again["offset"])
        document = clerk.wait_for("doc.available", sessionId=sid)["document"]
        url = f"{restarted.http}/v1/sessions/{sid}/documents/{document['id']}"
        auth = {"Authorization": f"Bearer {restarted.token('e2e-clerk', 'clerk', unit=LOCAL)}"}
        assert requests.get(url, headers=auth, timeout=30).content == data
        # The record still verifies, documents included.
        verify = subprocess.run([restarted.binary, "record", "verify", sid, "--config", str(restarted.config)],
                                capture_output=True, text=True, timeout=30)
        assert verify.returncode == 0, verify.stderr
        assert "1 document" in verify.stdout
        clerk.close()
    finally:
        restarted.stop()
