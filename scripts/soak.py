#!/usr/bin/env python3
"""A bounded soak of a built relay: N two-party sessions speaking (windowrelay bench audio) plus
document uploads in sessions that come and go, for M minutes; samples the relay's RSS every 10 s
and says whether it stayed flat after the warm-up (growth under 5 %). `make soak` runs it.

Usage: .venv/bin/python scripts/soak.py --bin .build-release/release/windowrelay [--minutes 10]
       [--sessions 300] [--warmup 2] [--out bench-out/soak.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "e2e"))
from wire import Peer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LOCAL, REMOTE, SERVICE = "qd-xihaian", "cd-gaoxin", "social-insurance-transfer"
CHUNK = 262_144


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pinned(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1 else []


class Uploads(threading.Thread):
    """Sessions that each take one 1 MiB upload and end, one after another, until stopped."""

    def __init__(self, binary: str, config: Path, url: str) -> None:
        super().__init__(daemon=True)
        self.binary, self.config, self.url = binary, config, url
        self.stopped = threading.Event()
        self.documents = 0
        self.sessions = 0
        self.errors: list[str] = []

    def token(self, sub: str, role: str, unit: str) -> str:
        return subprocess.run([self.binary, "token", "--sub", sub, "--role", role, "--unit", unit, "--ttl", "2h",
                               "--config", str(self.config)], capture_output=True, text=True, check=True,
                              cwd=REPO).stdout.strip()

    def run(self) -> None:
        clerk_token = self.token("soak-clerk", "clerk", LOCAL)
        approver_token = self.token("soak-approver", "approver", REMOTE)
        while not self.stopped.is_set():
            try:
                clerk = Peer(self.url, clerk_token)
                approver = Peer(self.url, approver_token)
                sid = clerk.ok({"type": "session.create", "service": SERVICE, "toUnit": REMOTE})["session"]["id"]
                approver.ok({"type": "session.accept", "sessionId": sid})
                data = b"%PDF-1.7\n" + os.urandom(1 << 20)
                upload = clerk.ok({"type": "doc.offer", "sessionId": sid, "name": "soak.pdf", "mime": "application/pdf",
                                   "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})["upload"]
                for offset in range(0, len(data), CHUNK):
                    clerk.ws.send(struct.pack(">BIQ", 0x02, upload, offset) + data[offset:offset + CHUNK])
                approver.wait_for("doc.available", sessionId=sid, timeout=60)
                clerk.ok({"type": "session.end", "sessionId": sid, "outcome": "completed"})
                clerk.close()
                approver.close()
                self.documents += 1
                self.sessions += 1
            except Exception as error:  # noqa: BLE001 - counted and reported, the soak goes on
                self.errors.append(repr(error))
                time.sleep(1)
            self.stopped.wait(3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--warmup", type=float, default=2, help="minutes before the RSS baseline")
    parser.add_argument("--out", default=str(REPO / "bench-out" / "soak.json"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wr-soak-"))
    config = work / "relay.yaml"
    config.write_text(
        "listen:\n  host: 127.0.0.1\n  port: 0\n"
        f"storage:\n  dataDir: {work / 'data'}\n"
        f"auth:\n  secretFile: {REPO / 'config' / 'dev-secret.txt'}\n"
        f"catalog: {REPO / 'config' / 'catalog.yaml'}\n"
        "limits:\n  messagesPerSecond: 100000\n  maxConnectionsPerIP: 10000\n"
        "log:\n  level: warning\n")
    relay = subprocess.Popen([*pinned(0), args.bin, "serve", "--config", str(config)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert relay.stdout is not None
    line = relay.stdout.readline()
    match = re.search(r"listening on (\w+)://([^:]+):(\d+)", line)
    if not match:
        print(f"the relay did not start: {line}", file=sys.stderr)
        return 2
    port = int(match[3])
    threading.Thread(target=lambda: [None for _ in relay.stdout], daemon=True).start()

    seconds = int(args.minutes * 60)
    bench = subprocess.Popen([*pinned(1), args.bin, "bench", "audio", "--config", str(config), "--port", str(port),
                              "--server-pid", str(relay.pid), "--sessions", str(args.sessions),
                              "--duration", str(seconds)], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    uploads = Uploads(args.bin, config, f"ws://127.0.0.1:{port}/v1/ws")
    uploads.start()

    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    while bench.poll() is None:
        samples.append((time.monotonic() - started, rss_kib(relay.pid)))
        print(f"{samples[-1][0]:6.0f} s  RSS {samples[-1][1] / 1024:7.1f} MiB  documents {uploads.documents}",
              flush=True)
        time.sleep(10)
    uploads.stopped.set()
    uploads.join(timeout=60)
    bench_output = bench.stdout.read() if bench.stdout else ""
    relay.terminate()
    relay.wait(timeout=30)

    warm = [rss for t, rss in samples if t >= args.warmup * 60]
    baseline = warm[0] if warm else samples[-1][1]
    final = max(rss for t, rss in samples[-6:])
    growth = (final - baseline) / baseline * 100 if baseline else 0.0
    result = {
        "minutes": args.minutes, "sessions": args.sessions, "warmupMinutes": args.warmup,
        "rssBaselineKiB": baseline, "rssFinalKiB": final, "growthPct": round(growth, 2),
        "documents": uploads.documents, "uploadSessions": uploads.sessions, "uploadErrors": uploads.errors[:10],
        "samples": samples, "bench": bench_output.strip().splitlines()[-12:],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print("\n".join(result["bench"]))
    print(f"RSS after warm-up {baseline / 1024:.1f} MiB, at the end {final / 1024:.1f} MiB: {growth:+.2f} %; "
          f"{uploads.documents} documents in {uploads.sessions} sessions, {len(uploads.errors)} upload errors")
    shutil.rmtree(work, ignore_errors=True)
    flat = growth < 5 and bench.returncode == 0 and not uploads.errors
    print("soak: " + ("flat" if flat else "NOT flat or errors"))
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
