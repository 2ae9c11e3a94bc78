#!/usr/bin/env python3
"""Measures one document upload over loopback against sha256sum of the same file (by hand, not a test).

    make venv
    .venv/bin/python scripts/upload-throughput.py --bin "$(swift build --show-bin-path)/windowrelay" [--mib 100]

Starts `windowrelay serve` on a free port with a temporary data folder (limits.bytesPerSecond raised so that
the rate limit does not set the pace; --paced keeps the default 8 MiB/s), opens an active session, and times
the upload of a random PDF-looking file from the offer to `doc.available`: the relay receives every chunk,
writes it, hashes it, fsyncs the file, checks the SHA-256 and commits the event before it says so. The
client's own SHA-256 of the file (for the offer) is computed before the clock starts. Then it times
`sha256sum` on the same file, warm in the page cache, and prints both and their ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "e2e"))

from conftest import Relay, write_config  # noqa: E402
from wire import Peer  # noqa: E402

CHUNK = 262_144


def bench_audio_command(binary: str, relay: Relay, config: Path, sessions: int, seconds: int) -> list[str]:
    return [binary, "bench", "audio", "--config", str(config), "--port", str(relay.port),
            "--server-pid", str(relay.process.pid), "--sessions", str(sessions), "--duration", str(seconds)]


def latency_lines(output: str) -> str:
    return "\n".join(line for line in output.splitlines() if "latency" in line or "lost" in line or "delivered" in line)


def bench_audio(binary: str, relay: Relay, config: Path, sessions: int, seconds: int) -> str:
    result = subprocess.run(bench_audio_command(binary, relay, config, sessions, seconds), cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=False)
    return latency_lines(result.stdout + result.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the windowrelay executable")
    parser.add_argument("--mib", type=int, default=100, help="file size in MiB (default 100)")
    parser.add_argument("--paced", action="store_true", help="keep limits.bytesPerSecond at its default")
    parser.add_argument("--audio-sessions", type=int, default=0,
                        help="also run `windowrelay bench audio` with this many sessions on the same relay, "
                             "alone first and then while the upload runs, and print both latency reports")
    args = parser.parse_args()
    size = args.mib << 20

    with tempfile.TemporaryDirectory(prefix="windowrelay-throughput-") as tmp:
        directory = Path(tmp)
        limits = {"maxUploadBytesPerSession": f"{args.mib + 1}MiB"}
        if not args.paced:
            limits["bytesPerSecond"] = "4GiB"
        config = write_config(directory, {"docs": {"maxBytes": f"{args.mib + 1}MiB"},
                                          "limits": limits, "log": {"level": "warning"}})
        path = directory / "upload.pdf"
        with open(path, "wb") as f:
            f.write(b"%PDF-1.7\n")
            left = size - 9
            while left > 0:
                f.write(os.urandom(min(left, 1 << 20)))
                left -= min(left, 1 << 20)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()

        relay = Relay(args.bin, config, directory)
        try:
            clerk = Peer(relay.url, relay.token("bench-clerk", "clerk", unit="qd-xihaian"))
            sid = clerk.ok({"type": "session.create", "service": "social-insurance-transfer",
                            "toUnit": "cd-gaoxin"})["session"]["id"]
            approver = Peer(relay.url, relay.token("bench-approver", "approver", unit="cd-gaoxin"))
            approver.ok({"type": "session.accept", "sessionId": sid})

            audio = None
            if args.audio_sessions:
                alone = bench_audio(args.bin, relay, config, args.audio_sessions, seconds=6)
                print("audio alone:\n" + alone)
                audio = subprocess.Popen(bench_audio_command(args.bin, relay, config, args.audio_sessions, 6),
                                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                time.sleep(2.5)  # set-up and the first second of audio before the upload starts

            start = time.perf_counter()
            upload = clerk.ok({"type": "doc.offer", "sessionId": sid, "name": "bench.pdf", "mime": "application/pdf",
                               "size": size, "sha256": digest})["upload"]
            view = memoryview(data)
            for offset in range(0, size, CHUNK):
                clerk.ws.send(struct.pack(">BIQ", 2, upload, offset) + view[offset:offset + CHUNK])
            available = clerk.wait_for("doc.available", timeout=600)
            elapsed = time.perf_counter() - start
            assert available["document"]["sha256"] == digest
            if audio is not None:
                output, _ = audio.communicate(timeout=120)
                print("audio during the upload:\n" + latency_lines(output))
            clerk.close()
            approver.close()
        finally:
            relay.stop()

        subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)  # warm the page cache
        t0 = time.perf_counter()
        subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
        reference = time.perf_counter() - t0

    mb = size / 1e6
    print(f"upload   {args.mib} MiB in {elapsed:.2f} s = {mb / elapsed:.0f} MB/s (offer to doc.available)")
    print(f"sha256sum {args.mib} MiB in {reference:.2f} s = {mb / reference:.0f} MB/s")
    print(f"ratio upload/sha256sum = {(mb / elapsed) / (mb / reference):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
