"""Fixtures of the end-to-end tests: a real `windowrelay serve` on a free port.

The binary is $WINDOWRELAY_BIN (`make test` sets it to the debug build); without it the tests that
need a relay are skipped. Each relay gets its own configuration and data folder under pytest's
tmp_path, the repository's catalog and development secret, and port 0.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("WINDOWRELAY_BIN", "")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
LISTENING = re.compile(r"listening on (?P<scheme>wss?)://(?P<host>\[[^\]]+\]|[^\s:/]+):(?P<port>\d+)")


def relay_binary() -> str | None:
    """The relay executable, or None when it has not been built."""
    return BIN if BIN and os.access(BIN, os.X_OK) else None


needs_relay = pytest.mark.skipif(relay_binary() is None, reason="WINDOWRELAY_BIN is not an executable (run make test)")


def _yaml(value: Any) -> str:
    # JSON scalars and lists are YAML too: no YAML library needed to write the configuration.
    return json.dumps(value, ensure_ascii=False)


def write_config(directory: Path, overrides: dict[str, dict[str, Any] | Any]) -> Path:
    """Writes a relay.yaml for a test relay; `overrides` maps sections to {key: value}."""
    sections: dict[str, Any] = {
        "listen": {"host": "127.0.0.1", "port": 0},
        "auth": {"secretFile": str(REPO / "config" / "dev-secret.txt")},
        "storage": {"dataDir": str(directory / "data")},
        "catalog": str(REPO / "config" / "catalog.yaml"),
    }
    for section, value in overrides.items():
        if isinstance(value, dict) and isinstance(sections.get(section), dict):
            sections[section] = {**sections[section], **value}
        else:
            sections[section] = value
    lines = ["# Written by Tests/e2e/conftest.py"]
    for section, value in sections.items():
        if isinstance(value, dict):
            lines.append(f"{section}:")
            lines.extend(f"  {key}: {_yaml(item)}" for key, item in value.items())
        else:
            lines.append(f"{section}: {_yaml(value)}")
    path = directory / "relay.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Relay:
    """A running relay: its addresses, a token maker, and what it printed."""

    def __init__(self, binary: str, config: Path, directory: Path, serve_args: tuple[str, ...] = ()) -> None:
        self.binary = binary
        self.config = config
        self.directory = directory
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [binary, "serve", "--config", str(config), *serve_args],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        # Keep reading so that a chatty relay never blocks on a full pipe.
        self._reader = threading.Thread(target=self._read, name="relay-output", daemon=True)
        self._reader.start()
        match = self._wait_for_listening()
        self.scheme = match["scheme"]
        host = match["host"]
        self.host = "127.0.0.1" if host in ("0.0.0.0", "[::]") else host
        self.port = int(match["port"])
        self.url = f"{self.scheme}://{self.host}:{self.port}/v1/ws"
        self.http = f"{'https' if self.scheme == 'wss' else 'http'}://{self.host}:{self.port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for_listening(self) -> re.Match[str]:
        deadline = time.monotonic() + START_TIMEOUT
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                self.process.wait(timeout=STOP_TIMEOUT)
                raise RuntimeError(f"relay exited with {self.process.returncode} before listening:\n{self.log()}")
            if match := LISTENING.search(line):
                return match
        self.stop()
        raise RuntimeError(f"relay printed no 'listening on' line in {START_TIMEOUT:.0f} s:\n{self.log()}")

    def token(
        self,
        sub: str,
        role: str,
        unit: str | None = None,
        session: str | None = None,
        ttl: str = "1h",
        window: str | None = None,
        name: str | None = None,
    ) -> str:
        """A JWT from `windowrelay token` with this relay's configuration (so its secret)."""
        command = [self.binary, "token", "--sub", sub, "--role", role, "--ttl", ttl, "--config", str(self.config)]
        for flag, value in (("--unit", unit), ("--session", session), ("--window", window), ("--name", name)):
            if value is not None:
                command += [flag, value]
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=START_TIMEOUT)
        if result.returncode != 0:
            raise RuntimeError(f"windowrelay token failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout.strip()

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it has not exited in time; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(timeout=STOP_TIMEOUT)
        return self.process.returncode

    def log(self) -> str:
        return "\n".join(self.output[-200:])


@pytest.fixture
def relay_factory(tmp_path: Path) -> Iterator[Callable[..., Relay]]:
    """Starts relays with configuration overrides, e.g. start(queue={"maxWaitSeconds": 2}), and
    extra `windowrelay serve` options, e.g. start(serve_args=("--conformance-echo",))."""
    binary = relay_binary()
    if binary is None:
        pytest.skip("WINDOWRELAY_BIN is not an executable (run make test)")
    relays: list[Relay] = []

    def start(*, serve_args: tuple[str, ...] = (), **overrides: Any) -> Relay:
        directory = tmp_path / f"relay{len(relays)}"
        directory.mkdir()
        relay = Relay(binary, write_config(directory, overrides), directory, serve_args)
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        relay.stop()


@pytest.fixture
def relay(relay_factory: Callable[..., Relay]) -> Relay:
    """A relay with the default test configuration."""
    return relay_factory()
