"""A pinned certificate is checked before any credential leaves: a TLS server of our own records every byte.

The server completes real TLS handshakes (1.2 and 1.3) with a generated certificate and keeps what the
client writes afterwards. With the wrong pin the handshake completes and then not one byte arrives; with
the right pin the same client's request, token and all, does arrive, which shows that the recorder would
have seen a leak.
"""

from __future__ import annotations

import hashlib
import queue
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kibitz.client import (
    CertificateMismatch,
    CertificateRejected,
    ConnectionFailed,
    EventStream,
    KibitzClient,
)
from kibitz.server.tls import generate_certificate, server_context, write_certificate

TOKEN = "kbz_canary_token_that_must_not_leak"
WRONG_PIN = "00" * 32


@dataclass
class Seen:
    """What one connection brought: whether the handshake completed, and the bytes read after it."""

    handshake: bool
    data: bytes


@dataclass
class RecordingServer:
    """Accept TLS connections on 127.0.0.1 and record what each client writes after the handshake."""

    context: ssl.SSLContext
    cert_file: Path
    pin: str
    listener: socket.socket = field(default_factory=socket.socket)
    seen: queue.Queue[Seen] = field(default_factory=queue.Queue)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}"

    def start(self) -> None:
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed: the test is over
            threading.Thread(target=self._record, args=(raw,), daemon=True).start()

    def _record(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        handshake, data = False, b""
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                handshake = True
                # Read the request head (or until the client hangs up), then hang up without answering.
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except (OSError, ssl.SSLError):
            pass  # the client may drop the connection abruptly; what was read so far is the record
        finally:
            raw.close()
        self.seen.put(Seen(handshake, data))

    def next_connection(self) -> Seen:
        return self.seen.get(timeout=10)


@pytest.fixture(params=[ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordingServer]:
    pair = generate_certificate(["localhost", "127.0.0.1"], 1)
    cert_file, key_file = write_certificate(pair, tmp_path)
    context = server_context(cert_file, key_file)
    context.maximum_version = request.param
    der = ssl.PEM_cert_to_DER_cert(pair.cert_pem.decode())
    recorder = RecordingServer(context, cert_file, hashlib.sha256(der).hexdigest())
    recorder.start()
    yield recorder
    recorder.listener.close()


class _Stopped(Exception):
    """Raised by the stream's sleep to end its reconnection loop in a test."""


def _stop(_delay: float) -> None:
    raise _Stopped


def test_http_client_with_a_wrong_pin_sends_nothing(server: RecordingServer) -> None:
    with (
        KibitzClient(server.url, TOKEN, cert_sha256=WRONG_PIN) as client,
        pytest.raises(CertificateMismatch, match="not the pinned one"),
    ):
        client.me()
    seen = server.next_connection()
    assert seen.handshake
    assert seen.data == b""


def test_http_client_login_with_a_wrong_pin_sends_no_password(server: RecordingServer) -> None:
    with KibitzClient(server.url, cert_sha256=WRONG_PIN) as client, pytest.raises(CertificateMismatch):
        client.login("alice@example.com", "a password that must not leak")
    assert server.next_connection() == Seen(True, b"")


def test_http_client_with_the_right_pin_does_send(server: RecordingServer) -> None:
    # The control: the same request through a matching pin reaches the recorder, token included.
    with (
        KibitzClient(server.url, TOKEN, cert_sha256=server.pin) as client,
        pytest.raises(ConnectionFailed) as raised,
    ):
        client.me()
    assert not isinstance(raised.value, CertificateRejected)  # the recorder hung up without answering
    seen = server.next_connection()
    assert seen.data.startswith(b"GET /api/v1/me HTTP/1.1\r\n")
    assert f"Bearer {TOKEN}".encode() in seen.data


def test_http_client_without_pin_or_ca_rejects_the_self_signed_certificate(server: RecordingServer) -> None:
    with (
        KibitzClient(server.url, TOKEN) as client,
        pytest.raises(CertificateRejected, match="cannot verify the TLS certificate"),
    ):
        client.me()
    # The client refuses during the handshake, so the server never completes it, let alone reads.
    assert server.next_connection().data == b""


def test_stream_with_a_wrong_pin_sends_nothing_and_stops(server: RecordingServer) -> None:
    stream = EventStream(server.url, TOKEN, "team", 0, cert_sha256=WRONG_PIN, sleep=_stop)
    with pytest.raises(CertificateMismatch):
        next(iter(stream))
    assert server.next_connection() == Seen(True, b"")


def test_stream_with_the_right_pin_does_send(server: RecordingServer) -> None:
    stream = EventStream(server.url, TOKEN, "team", 0, cert_sha256=server.pin, sleep=_stop)
    with pytest.raises(_Stopped):
        next(iter(stream))  # the recorder is no WebSocket server: the stream would retry, and we stop it
    seen = server.next_connection()
    assert seen.data.startswith(b"GET /api/v1/stream HTTP/1.1\r\n")
    assert f"Bearer {TOKEN}".encode() in seen.data


def test_stream_with_an_unverifiable_certificate_stops_at_once(server: RecordingServer) -> None:
    stream = EventStream(server.url, TOKEN, "team", 0, sleep=_stop)
    with pytest.raises(CertificateRejected, match="cannot verify"):
        next(iter(stream))


def test_a_ca_file_and_a_pin_must_both_hold(server: RecordingServer) -> None:
    with (
        KibitzClient(server.url, TOKEN, ca_file=server.cert_file, cert_sha256=WRONG_PIN) as client,
        pytest.raises(CertificateMismatch),
    ):
        client.me()
    assert server.next_connection() == Seen(True, b"")
    with (
        KibitzClient(server.url, TOKEN, ca_file=server.cert_file, cert_sha256=server.pin) as client,
        pytest.raises(ConnectionFailed),
    ):
        client.me()
    assert f"Bearer {TOKEN}".encode() in server.next_connection().data
