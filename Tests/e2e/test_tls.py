"""TLS from an independent client: certificate reload on SIGHUP without dropping sessions, and
client certificates for window stations (mutual TLS) mapped to the token's `window`."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import ssl
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from conftest import REPO, Relay, needs_relay
from wire import Peer

CA_CERT = REPO / "certs" / "dev-ca.crt"
CA_KEY = REPO / "certs" / "dev-ca.key"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def issue(directory: Path, name: str, common_name: str, usage: str, ca: tuple[Path, Path] = (CA_CERT, CA_KEY)) -> tuple[Path, Path]:
    """A certificate for `common_name` signed by `ca` (the development CA by default)."""
    key, csr, crt = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.crt"
    ext = directory / f"{name}.ext"
    ext.write_text(f"basicConstraints=critical,CA:FALSE\nextendedKeyUsage={usage}\n"
                   + ("subjectAltName=DNS:localhost,IP:127.0.0.1\n" if usage == "serverAuth" else ""))
    openssl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={common_name}")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-set_serial", f"0x{hashlib.sha256(name.encode()).hexdigest()[:16]}", "-days", "30",
            "-extfile", str(ext), "-out", str(crt))
    return crt, key


def client_context(cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(CA_CERT))
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    return context


def served_certificate(relay: Relay) -> bytes:
    """The DER certificate a new TLS handshake gets."""
    with connect(relay.url, ssl=client_context(), open_timeout=10) as ws:
        return ws.socket.getpeercert(binary_form=True)


def wait_for_log(relay: Relay, text: str, after: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(text in line for line in relay.output[after:]):
            return
        time.sleep(0.05)
    raise AssertionError(f"no log line with {text!r}:\n{relay.log()}")


def hello_outcome(relay: Relay, token: str, cert: tuple[Path, Path] | None) -> tuple[dict, int | None]:
    """The hello reply and the close code that follows it (None while the connection stays open)."""
    with connect(relay.url, ssl=client_context(cert), open_timeout=10) as ws:
        ws.send(json.dumps({"type": "hello", "id": "h", "token": token}))
        reply = json.loads(ws.recv(timeout=10))
        if reply["type"] == "ok":
            return reply, None
        try:
            ws.recv(timeout=10)
        except ConnectionClosed as closed:
            return reply, closed.rcvd.code if closed.rcvd else None
        return reply, None


@pytest.fixture
def tls_relay(relay_factory: Callable[..., Relay], tmp_path: Path) -> tuple[Relay, Path]:
    certs = tmp_path / "certs"
    certs.mkdir()
    crt, key = issue(certs, "server-a", "localhost", "serverAuth")
    shutil.copy(crt, certs / "server.crt")
    shutil.copy(key, certs / "server.key")
    relay = relay_factory(tls={"cert": str(certs / "server.crt"), "key": str(certs / "server.key"),
                               "clientCA": str(CA_CERT)})
    assert relay.scheme == "wss"
    return relay, certs


@needs_relay
def test_sighup_reloads_the_certificate_and_open_sessions_stay(tls_relay: tuple[Relay, Path]) -> None:
    relay, certs = tls_relay
    first = served_certificate(relay)
    assert first == ssl.PEM_cert_to_DER_cert((certs / "server-a.crt").read_text())
    clerk = Peer(relay.url, relay.token("tls-clerk", "clerk", unit="qd-xihaian"), ssl=client_context())

    crt, key = issue(certs, "server-b", "localhost", "serverAuth")
    shutil.copy(crt, certs / "server.crt")
    shutil.copy(key, certs / "server.key")
    mark = len(relay.output)
    relay.process.send_signal(signal.SIGHUP)
    wait_for_log(relay, "certificate reloaded", mark)
    assert served_certificate(relay) == ssl.PEM_cert_to_DER_cert(crt.read_text())
    # The connection made before the reload is still served.
    assert clerk.ok({"type": "queue.watch"})["unit"] == "qd-xihaian"

    # A broken pair changes nothing: the relay keeps serving the last good certificate.
    (certs / "server.crt").write_text("not a certificate\n")
    mark = len(relay.output)
    relay.process.send_signal(signal.SIGHUP)
    wait_for_log(relay, "certificate not reloaded", mark)
    assert served_certificate(relay) == ssl.PEM_cert_to_DER_cert(crt.read_text())
    assert relay.process.poll() is None
    clerk.close()


@needs_relay
def test_a_window_token_needs_that_windows_client_certificate(tls_relay: tuple[Relay, Path], tmp_path: Path) -> None:
    relay, certs = tls_relay
    station = issue(certs, "win-qd-01", "win-qd-01", "clientAuth")
    token = relay.token("clerk-win", "clerk", unit="qd-xihaian", window="win-qd-01")

    reply, code = hello_outcome(relay, token, station)
    assert reply["type"] == "ok", reply

    reply, code = hello_outcome(relay, token, None)
    assert reply["code"] == "unauthorized" and "client certificate" in reply["message"]
    assert code == 4401

    other = issue(certs, "win-qd-02", "win-qd-02", "clientAuth")
    reply, code = hello_outcome(relay, token, other)
    assert reply["code"] == "unauthorized" and "win-qd-02" in reply["message"]
    assert code == 4401

    # Tokens without a window (an applicant tablet, ops) need no certificate.
    applicant_free = relay.token("ops-tls", "ops")
    reply, _ = hello_outcome(relay, applicant_free, None)
    assert reply["type"] == "ok"

    # A certificate from another CA fails the handshake itself.
    rogue_dir = tmp_path / "rogue"
    rogue_dir.mkdir()
    openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(rogue_dir / "ca.key"), "-out", str(rogue_dir / "ca.crt"), "-days", "30",
            "-subj", "/CN=rogue CA", "-addext", "basicConstraints=critical,CA:TRUE")
    rogue = issue(rogue_dir, "win-qd-01", "win-qd-01", "clientAuth", ca=(rogue_dir / "ca.crt", rogue_dir / "ca.key"))
    # In TLS 1.3 the client may finish its side of the handshake before the server refuses the
    # certificate: then the refusal shows as the connection closing before the HTTP answer.
    with pytest.raises((ssl.SSLError, OSError, EOFError, ConnectionClosed, InvalidHandshake)):
        hello_outcome(relay, token, rogue)
    assert relay.process.poll() is None
