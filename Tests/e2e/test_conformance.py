"""WebSocket conformance: the Autobahn|Testsuite cases, driven by kosoku, against the relay's transport.

The relay runs with its test-only echo route (`windowrelay serve --conformance-echo`, docs/protocol.md
§9): a WebSocket on /v1/echo gets every message back verbatim, with no hello and no rate limits, and
`limits.maxMessageBytes` (1 MiB by default, enough for every case run here) still applies.

Sections 1-7 (framing, pings, reserved bits and opcodes, fragmentation, UTF-8, close) and 10 (a
big fragmented message) run. Section 9 (performance, messages up to 16 MiB) is out of scope;
12 and 13 test permessage-deflate, which the relay does not offer. Results: docs/reliability.md.
"""

from __future__ import annotations

import collections
import fnmatch
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import Relay, needs_relay
from websockets.exceptions import InvalidHandshake
from websockets.sync.client import connect

SECTIONS = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"]
PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
# Cases libwebsockets fails by design, each with its reason. Nothing else may fail. These may also
# pass: whether lws drops a ping depends on whether its pong for the previous one is still unsent.
ALLOWED_FAILURES: dict[str, str] = {
    # 10 pings sent back to back (2.11: in 1-byte chops): lws keeps one pending pong and drops a ping
    # that arrives while it is unsent ("DROP PING since one pending", lib/roles/ws/ops-ws.c), so only
    # the first is answered. RFC 6455 §5.5.3 allows answering only some pings; Autobahn's own
    # expectation says it is "not required by the Spec". The transport never sees pings (lws answers).
    "2.10": "lws answers only one pending ping at a time",
    "2.11": "lws answers only one pending ping at a time",
}
PARALLELISM = 4
KOSOKU_TIMEOUT = 240.0


def kosoku_executable() -> str:
    """The kosoku console script of this interpreter's environment (the .venv of `make venv`)."""
    beside = Path(sys.executable).parent / "kosoku"
    found = str(beside) if beside.exists() else shutil.which("kosoku")
    assert found, "kosoku is not installed: run `make venv` (Tests/e2e/requirements.txt lists it)"
    return found


def selected_cases() -> set[str]:
    """The ids of the cases SECTIONS selects in kosoku's case index."""
    from kosoku.cases import CASES  # the index kosoku itself runs from

    return {case for case in CASES if any(fnmatch.fnmatchcase(case, pattern) for pattern in SECTIONS)}


def run_kosoku(url: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    command = [kosoku_executable(), url, "-p", str(PARALLELISM), "-o", str(outdir)]
    for pattern in SECTIONS:
        command += ["-i", pattern]
    return subprocess.run(command, capture_output=True, text=True, timeout=KOSOKU_TIMEOUT)


def passed(entry: dict[str, Any]) -> bool:
    return entry["behavior"] in PASSING and entry["behaviorClose"] in PASSING


def describe(outdir: Path, case: str, entry: dict[str, Any]) -> str:
    """One line on a failed case, with kosoku's own explanation from its per-case report."""
    detail: dict[str, Any] = {}
    report = outdir / entry.get("reportfile", "")
    if report.is_file():
        detail = json.loads(report.read_text(encoding="utf-8"))
    return (
        f"{case}: {entry['behavior']} / close {entry['behaviorClose']} (code {entry.get('remoteCloseCode')}): "
        f"{detail.get('result', '')} {detail.get('resultClose', '')}".strip()
    )


@needs_relay
def test_autobahn_sections_1_to_7_and_10_pass(relay_factory: Callable[..., Relay], tmp_path: Path) -> None:
    relay = relay_factory(serve_args=("--conformance-echo",))
    outdir = tmp_path / "autobahn"
    started = time.monotonic()
    result = run_kosoku(f"ws://{relay.host}:{relay.port}/v1/echo", outdir)
    elapsed = time.monotonic() - started

    index_file = outdir / "index.json"
    assert index_file.is_file(), f"kosoku wrote no report (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    index: dict[str, dict[str, dict[str, Any]]] = json.loads(index_file.read_text(encoding="utf-8"))
    assert len(index) == 1, f"one agent expected in the report, got {sorted(index)}"
    entries = next(iter(index.values()))

    expected = selected_cases()
    assert len(expected) > 200, f"kosoku's case index looks incomplete: {len(expected)} cases"
    assert set(entries) == expected, f"cases not run: {sorted(expected - set(entries))}"

    failures = [
        describe(outdir, case, entry)
        for case, entry in sorted(entries.items(), key=lambda item: [int(p) for p in item[0].split(".")])
        if not passed(entry) and case not in ALLOWED_FAILURES
    ]
    counts = collections.Counter(entry["behavior"] for entry in entries.values())
    summary = f"{len(entries)} cases in {elapsed:.1f} s: {dict(sorted(counts.items()))}"
    assert not failures, summary + "\n" + "\n".join(failures) + "\n--- relay log ---\n" + relay.log()
    # kosoku exits 1 when any case failed (the allowed ones do); anything else is its own failure.
    assert result.returncode in (0, 1), f"kosoku exited {result.returncode}: {result.stderr}"
    print(summary)


@needs_relay
def test_the_echo_route_is_off_without_the_test_flag(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory()
    # lws refuses the upgrade of a path it does not serve by hanging up (no HTTP status).
    with pytest.raises(InvalidHandshake):
        with connect(f"ws://{relay.host}:{relay.port}/v1/echo", open_timeout=5):
            pass


@needs_relay
def test_the_echo_route_echoes_text_and_binary_without_hello(relay_factory: Callable[..., Relay]) -> None:
    relay = relay_factory(serve_args=("--conformance-echo",))
    with connect(f"ws://{relay.host}:{relay.port}/v1/echo", open_timeout=5) as ws:
        ws.send("营业执照 {not json")
        assert ws.recv(timeout=5) == "营业执照 {not json"
        ws.send(b"\x00\xff")
        assert ws.recv(timeout=5) == b"\x00\xff"
