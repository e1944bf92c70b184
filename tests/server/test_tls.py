"""TLS against a real `kibitz server run` process with a certificate made by `kibitz server gen-cert`.

The protocol floor is tested from the client side with a client that could speak TLS 1.1 (its OpenSSL
security level lowered, and a control server of ours that does accept it), so that a refusal can only
come from the server. The API, the WebSocket stream and the CLI are used over HTTPS/WSS with a CA file
and with a pinned fingerprint; and the server refuses to start on plain HTTP off loopback.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import queue
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from kibitz.client import (
    CertificateMismatch,
    CertificateRejected,
    EventStream,
    KibitzClient,
    StreamEvent,
)
from kibitz.server.tls import (
    TlsSetupError,
    fingerprint,
    generate_certificate,
    is_loopback,
    plain_http_refusal,
    server_context,
    write_certificate,
)
from kibitz.settings import Settings
from tests.e2e.conftest import PASSWORD
from tests.server_process import KIBITZ, clean_environment, cli_server, free_port, kibitz_server
from tests.warm_start import run_kibitz

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

STARTUP_SECONDS = 60
COMMAND_SECONDS = 60
WRONG_PIN = "AB" * 32
ALL_IPV4 = "0.0.0.0"  # noqa: S104 - not loopback, which is the point


@dataclass
class TlsServer:
    """A running HTTPS server and what clients need to trust it."""

    url: str
    port: int
    cert: Path
    key: Path
    fingerprint: str
    gen_cert_output: str


def _run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_kibitz(
        args,
        env=env or clean_environment(),
        input=stdin,
        timeout=COMMAND_SECONDS,
    )


def _fingerprint_in(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("SHA-256 fingerprint: ")]
    assert len(lines) == 1, output
    return lines[0].removeprefix("SHA-256 fingerprint: ").strip()


def _client_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """Make a certificate with `kibitz server gen-cert` and serve HTTPS with it on all IPv4 addresses."""
    base = tmp_path_factory.mktemp("tls")
    made = _run(
        "server", "gen-cert", "--out", str(base / "certs"), "--host", "localhost", "--host", "127.0.0.1"
    )
    assert made.returncode == 0, made.stderr
    cert, key = base / "certs" / "cert.pem", base / "certs" / "key.pem"
    # 0.0.0.0 is not loopback: with TLS the server must start there all the same.
    settings = {"host": ALL_IPV4, "data_dir": base / "data", "tls_cert": cert, "tls_key": key}
    # Many accounts log in from 127.0.0.1 here: the login throttle is tested elsewhere.
    env = {"KIBITZ_LOGIN_RATE_LIMIT": "1000/minute"}
    server = kibitz_server(base / "server.log", settings=settings, env=env, verify=_client_context(cert))
    with server:
        yield TlsServer(server.url, server.port, cert, key, _fingerprint_in(made.stdout), made.stdout)


# -- the certificate ----------------------------------------------------------------------------


def test_gen_cert_makes_a_usable_certificate_with_a_private_key(tls_server: TlsServer) -> None:
    assert tls_server.key.stat().st_mode & 0o777 == 0o600
    assert tls_server.cert.stat().st_mode & 0o077 == 0o044  # the certificate is public
    certificate = x509.load_pem_x509_certificate(tls_server.cert.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert datetime.timedelta(days=365) <= lifetime <= datetime.timedelta(days=366)
    der = ssl.PEM_cert_to_DER_cert(tls_server.cert.read_text())
    assert tls_server.fingerprint.replace(":", "").lower() == hashlib.sha256(der).hexdigest()
    # The output says how to serve and how clients trust it.
    assert f"--tls-cert {tls_server.cert.resolve()}" in tls_server.gen_cert_output
    assert f"--cert-sha256 {tls_server.fingerprint}" in tls_server.gen_cert_output


def test_gen_cert_keeps_existing_files_unless_forced(tmp_path: Path) -> None:
    first = _run("server", "gen-cert", "--out", str(tmp_path), "--days", "7")
    assert first.returncode == 0, first.stderr
    before = (tmp_path / "cert.pem").read_bytes(), (tmp_path / "key.pem").read_bytes()
    again = _run("server", "gen-cert", "--out", str(tmp_path))
    assert again.returncode == 1
    assert "exists (pass --force" in again.stderr
    assert ((tmp_path / "cert.pem").read_bytes(), (tmp_path / "key.pem").read_bytes()) == before
    forced = _run("server", "gen-cert", "--out", str(tmp_path), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "key.pem").read_bytes() != before[1]
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    assert _fingerprint_in(forced.stdout) != _fingerprint_in(first.stdout)
    bad = _run("server", "gen-cert", "--out", str(tmp_path / "other"), "--host", "not a name")
    assert bad.returncode == 2
    assert not (tmp_path / "other" / "key.pem").exists()


# -- the protocol floor -------------------------------------------------------------------------


def _tls11_client() -> ssl.SSLContext:
    """Return a client context that speaks TLS 1.1 and nothing else."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # OpenSSL's default security level forbids TLS < 1.2 on the client itself; level 0 lifts that, so
    # that only the server can be the one that refuses.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def _handshake(context: ssl.SSLContext, port: int) -> tuple[str | None, tuple[str, str, int] | None]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return tls.version(), tls.cipher()


def _permissive_server(cert: Path, key: Path) -> tuple[int, queue.Queue[str], socket.socket]:
    """Start a one-connection TLS server of ours that accepts TLS 1.1 to 1.3 (the control)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1_1
    context.load_cert_chain(str(cert), str(key))
    listener = socket.create_server(("127.0.0.1", 0))
    versions: queue.Queue[str] = queue.Queue()

    def serve() -> None:
        try:
            raw, _ = listener.accept()
            with context.wrap_socket(raw, server_side=True) as tls:
                versions.put(str(tls.version()))
        except OSError as error:
            versions.put(f"failed: {error}")

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], versions, listener


# Naming TLS 1.1 at all is deprecated in Python; doing so is the point of this test.
@pytest.mark.filterwarnings(r"ignore:ssl\.TLSVersion\.TLSv1_1 is deprecated:DeprecationWarning")
def test_a_handshake_capped_at_tls_1_1_is_refused(tls_server: TlsServer) -> None:
    # The control: this very client context does complete a TLS 1.1 handshake with a server that allows it.
    port, versions, listener = _permissive_server(tls_server.cert, tls_server.key)
    with listener:
        assert _handshake(_tls11_client(), port)[0] == "TLSv1.1"
        assert versions.get(timeout=10) == "TLSv1.1"
    # Kibitz refuses it (asyncio drops the connection rather than flushing the protocol_version alert, so
    # the client may see either)...
    with pytest.raises(ssl.SSLError) as refused:
        _handshake(_tls11_client(), tls_server.port)
    assert refused.value.reason in {
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "UNSUPPORTED_PROTOCOL",
        "UNEXPECTED_EOF_WHILE_READING",
    }, refused.value
    # ...while the same client allowed TLS 1.2 alone gets through: the version is the only difference.
    same_but_1_2 = _tls11_client()
    same_but_1_2.maximum_version = same_but_1_2.minimum_version = ssl.TLSVersion.TLSv1_2
    assert _handshake(same_but_1_2, tls_server.port)[0] == "TLSv1.2"


@pytest.mark.parametrize(
    ("version", "name"), [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")]
)
def test_tls_1_2_and_1_3_succeed(tls_server: TlsServer, version: ssl.TLSVersion, name: str) -> None:
    context = _client_context(tls_server.cert)
    context.minimum_version = context.maximum_version = version
    negotiated, cipher = _handshake(context, tls_server.port)
    assert negotiated == name
    assert cipher is not None
    if version is ssl.TLSVersion.TLSv1_2:
        assert cipher[0].startswith("ECDHE-")
        assert "GCM" in cipher[0] or "CHACHA20" in cipher[0]
    with httpx.Client(verify=context) as http:
        answer = http.get(f"{tls_server.url}/healthz")
    assert answer.json() == {"status": "ok"}
    # uvicorn tells the app the scheme is https, so the headers middleware sends HSTS.
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_tls_1_2_without_forward_secret_aead_suites_is_refused(tls_server: TlsServer) -> None:
    context = _client_context(tls_server.cert)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:AES128-GCM-SHA256")  # CBC or static
    with pytest.raises(ssl.SSLError):
        _handshake(context, tls_server.port)


# -- clients ------------------------------------------------------------------------------------


def _account(client: KibitzClient, name: str) -> str:
    email = f"{name}-{time.monotonic_ns()}@example.com"
    client.signup(email, name.title(), PASSWORD)
    return client.login(email, PASSWORD)["token"]


def test_the_api_over_https_with_a_ca_file(tls_server: TlsServer) -> None:
    with KibitzClient(tls_server.url, ca_file=tls_server.cert) as anonymous:
        token = _account(anonymous, "carol")
    with KibitzClient(tls_server.url, token, ca_file=tls_server.cert) as client:
        team = client.create_team("tls")
        assert [t["id"] for t in client.me()["teams"]] == [team["id"]]
    # The name must match too: the certificate is for 127.0.0.1 and localhost, not for another name.
    with KibitzClient(f"https://localhost:{tls_server.port}", token, ca_file=tls_server.cert) as client:
        assert client.me()["user"]["name"] == "Carol"


def test_the_api_refuses_an_unverified_or_unpinned_certificate(tls_server: TlsServer) -> None:
    with (
        KibitzClient(tls_server.url, "kbz_x") as client,
        pytest.raises(CertificateRejected, match="--ca-file"),
    ):
        client.me()
    with (
        KibitzClient(tls_server.url, "kbz_x", cert_sha256=WRONG_PIN) as client,
        pytest.raises(CertificateMismatch, match="not the pinned one"),
    ):
        client.me()


def test_the_api_with_the_right_pin(tls_server: TlsServer) -> None:
    with KibitzClient(tls_server.url, cert_sha256=tls_server.fingerprint) as client:
        token = _account(client, "dave")
    with KibitzClient(tls_server.url, token, cert_sha256=tls_server.fingerprint) as client:
        assert client.me()["user"]["name"] == "Dave"


class _Stopped(Exception):
    """Raised by the stream's sleep once the test is done, to end its reconnection loop."""


def _follow(
    stream: EventStream, events: queue.Queue[StreamEvent | BaseException], done: threading.Event
) -> None:
    try:
        for event in stream:
            events.put(event)
            if done.is_set():
                return
    except BaseException as error:  # handed to the test thread, which fails on it
        events.put(error)


@pytest.mark.parametrize("trust", ["ca_file", "pin"])
def test_the_event_stream_over_wss(tls_server: TlsServer, trust: str) -> None:
    options: dict[str, Any] = (
        {"ca_file": tls_server.cert} if trust == "ca_file" else {"cert_sha256": tls_server.fingerprint}
    )
    with KibitzClient(tls_server.url, **options) as anonymous:
        owner_token, first_token, second_token = (
            _account(anonymous, name) for name in ("erin", "frank", "gus")
        )
    with KibitzClient(tls_server.url, owner_token, **options) as owner:
        team_id = owner.create_team("wss")["id"]
        code = owner.create_invite(team_id)["code"]
        second_code = owner.create_invite(team_id)["code"]
    done = threading.Event()
    notes: list[str] = []

    def sleep(_delay: float) -> None:
        if done.is_set():
            raise _Stopped
        time.sleep(0.2)

    events: queue.Queue[StreamEvent | BaseException] = queue.Queue()
    stream = EventStream(
        tls_server.url, owner_token, team_id, 0, sleep=sleep, on_status=notes.append, **options
    )
    threading.Thread(target=_follow, args=(stream, events, done), daemon=True).start()
    with KibitzClient(tls_server.url, first_token, **options) as member:
        member.join_team(code)
    first = events.get(timeout=30)
    assert not isinstance(first, BaseException), (first, notes)
    assert (first["type"], first["seq"]) == ("member.joined", 1)
    # The second arrives live on the open connection.
    done.set()
    with KibitzClient(tls_server.url, second_token, **options) as member:
        member.join_team(second_code)
    second = events.get(timeout=30)
    assert not isinstance(second, BaseException), (second, notes)
    assert (second["type"], second["seq"]) == ("member.joined", 2)
    assert notes == []  # no reconnection was needed


# -- the CLI ------------------------------------------------------------------------------------


def test_the_cli_honours_ca_file_and_pin(tls_server: TlsServer, tmp_path: Path) -> None:
    env = {**clean_environment(), "KIBITZ_CONFIG_DIR": str(tmp_path / "config")}
    email = f"gina-{time.monotonic_ns()}@example.com"
    signup = ["signup", "--server", tls_server.url, "--email", email, "--name", "Gina", "--password-stdin"]
    refused = _run(*signup, env=env, stdin=PASSWORD + "\n")
    assert refused.returncode == 5, refused.stderr
    assert "cannot verify the TLS certificate" in refused.stderr
    assert not (tmp_path / "config" / "credentials.json").exists()

    made = _run("--ca-file", str(tls_server.cert), *signup, env=env, stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr

    whoami = _run("--ca-file", str(tls_server.cert), "whoami", "--json", env=env)
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["user"]["email"] == email

    pinned = _run("whoami", "--json", env={**env, "KIBITZ_CERT_SHA256": tls_server.fingerprint})
    assert pinned.returncode == 0, pinned.stderr
    by_flag = _run("--cert-sha256", tls_server.fingerprint.replace(":", "").lower(), "whoami", env=env)
    assert by_flag.returncode == 0, by_flag.stderr
    from_env = _run("whoami", env={**env, "KIBITZ_CA_FILE": str(tls_server.cert)})
    assert from_env.returncode == 0, from_env.stderr

    wrong = _run("whoami", env={**env, "KIBITZ_CERT_SHA256": WRONG_PIN})
    assert wrong.returncode == 5
    assert "is not the pinned one" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    unverified = _run("whoami", env=env)
    assert unverified.returncode == 5
    assert "--ca-file" in unverified.stderr

    # Logging out through an untrusted certificate forgets the token here, says it was not revoked, and
    # indeed sent nothing: the token still works.
    token = json.loads((tmp_path / "config" / "credentials.json").read_text())["token"]
    logout = _run("logout", env={**env, "KIBITZ_CERT_SHA256": WRONG_PIN})
    assert logout.returncode == 5
    assert "NOT revoked" in logout.stderr
    assert not (tmp_path / "config" / "credentials.json").exists()
    with KibitzClient(tls_server.url, token, ca_file=tls_server.cert) as client:
        assert client.me()["user"]["email"] == email


def test_the_cli_watch_follows_events_over_wss(tls_server: TlsServer, tmp_path: Path) -> None:
    env = {
        **clean_environment(),
        "KIBITZ_CONFIG_DIR": str(tmp_path / "config"),
        "KIBITZ_CA_FILE": str(tls_server.cert),
    }
    email = f"hal-{time.monotonic_ns()}@example.com"
    signup = ["signup", "--server", tls_server.url, "--email", email, "--name", "Hal", "--password-stdin"]
    assert _run(*signup, env=env, stdin=PASSWORD + "\n").returncode == 0
    assert _run("team", "create", "watchers", env=env).returncode == 0
    codes = [json.loads(_run("team", "invite", "--json", env=env).stdout)["code"] for _ in range(2)]
    with KibitzClient(tls_server.url, ca_file=tls_server.cert) as anonymous:
        tokens = [_account(anonymous, name) for name in ("ivy", "jay")]
    with KibitzClient(tls_server.url, tokens[0], ca_file=tls_server.cert) as member:
        member.join_team(codes[0])
    watch = subprocess.Popen(
        [str(KIBITZ), "watch", "--after", "0", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert watch.stdout is not None

    def forward_lines() -> None:
        for line in watch.stdout or ():
            lines.put(line)

    threading.Thread(target=forward_lines, daemon=True).start()
    try:
        first = json.loads(lines.get(timeout=30))
        assert (first["type"], first["seq"]) == ("member.joined", 1)
        with KibitzClient(tls_server.url, tokens[1], ca_file=tls_server.cert) as member:
            member.join_team(codes[1])
        second = json.loads(lines.get(timeout=30))
        assert (second["type"], second["seq"]) == ("member.joined", 2)
    finally:
        watch.terminate()
        _out, errors = watch.communicate(timeout=15)
    assert "Traceback" not in errors


# -- refusing to start --------------------------------------------------------------------------


def _start_and_wait(
    args: list[str], env: dict[str, str], timeout: float = STARTUP_SECONDS
) -> subprocess.CompletedProcess[str]:
    """Run `kibitz server run ARGS` expecting it to exit by itself."""
    return run_kibitz(
        ["server", "run", *args],
        env=env,
        timeout=timeout,
    )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("extra_env", "says"),
    [
        ({}, "refusing plain HTTP on the non-loopback address 0.0.0.0"),
        ({"KIBITZ_BEHIND_PROXY": "1"}, "needs the proxies' addresses: set KIBITZ_TRUSTED_PROXIES"),
        ({"KIBITZ_TRUSTED_PROXIES": "127.0.0.1"}, "refusing plain HTTP"),  # a list alone is not proxy mode
    ],
)
def test_plain_http_off_loopback_refuses_to_start(
    tmp_path: Path, extra_env: dict[str, str], says: str
) -> None:
    port = free_port()
    env = {**clean_environment(), **extra_env}
    result = _start_and_wait(["--host", ALL_IPV4, "--port", str(port), "--data-dir", str(tmp_path)], env)
    assert result.returncode == 1
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert not _listening(port)
    assert not (tmp_path / "kibitz.db").exists()  # nothing started: not even the migrations ran


def test_plain_http_behind_trusted_proxies_starts(tmp_path: Path) -> None:
    env = {"KIBITZ_BEHIND_PROXY": "1", "KIBITZ_TRUSTED_PROXIES": "127.0.0.1/32"}
    args = ["--host", ALL_IPV4, "--data-dir", str(tmp_path)]
    with cli_server(args, tmp_path / "server.log", env=env) as server:
        assert "strict-transport-security" not in httpx.get(f"{server.url}/healthz").headers


def test_an_unusable_certificate_or_key_refuses_to_start(tls_server: TlsServer, tmp_path: Path) -> None:
    other = _run("server", "gen-cert", "--out", str(tmp_path / "other"))
    assert other.returncode == 0, other.stderr
    port = free_port()
    base = ["--port", str(port), "--data-dir", str(tmp_path / "data")]
    mismatched = _start_and_wait(
        [*base, "--tls-cert", str(tls_server.cert), "--tls-key", str(tmp_path / "other" / "key.pem")],
        clean_environment(),
    )
    assert mismatched.returncode == 1
    assert "cannot use the TLS certificate" in mismatched.stderr
    alone = _start_and_wait([*base, "--tls-cert", str(tls_server.cert)], clean_environment())
    assert alone.returncode == 1
    assert "TLS needs both a certificate" in alone.stderr
    missing = _start_and_wait(
        [*base, "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(tls_server.key)],
        clean_environment(),
    )
    assert missing.returncode == 1
    assert "nope.pem" in missing.stderr
    assert not _listening(port)
    assert not (tmp_path / "data" / "kibitz.db").exists()


# -- the pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        (ALL_IPV4, False),
        ("::", False),
        ("192.0.2.10", False),
        ("kibitz.example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("values", "allowed"),
    [
        ({"host": "127.0.0.1"}, True),
        ({"host": ALL_IPV4}, False),
        ({"host": ALL_IPV4, "behind_proxy": True}, False),
        ({"host": ALL_IPV4, "trusted_proxies": "10.0.0.0/8"}, False),
        ({"host": ALL_IPV4, "behind_proxy": True, "trusted_proxies": "10.0.0.0/8, ::1"}, True),
        ({"host": ALL_IPV4, "tls_cert": Path("c.pem"), "tls_key": Path("k.pem")}, True),
    ],
)
def test_plain_http_refusal(values: dict[str, Any], allowed: bool, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **values)
    assert (plain_http_refusal(settings) is None) is allowed


def test_server_context_floor_and_errors(tmp_path: Path) -> None:
    cert, key = write_certificate(generate_certificate(["localhost"], 1), tmp_path)
    context = server_context(cert, key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    with pytest.raises(TlsSetupError, match="no such file"):
        server_context(tmp_path / "missing.pem", key)
    other_cert, _ = write_certificate(generate_certificate(["localhost"], 1), tmp_path / "other")
    with pytest.raises(TlsSetupError, match="cannot use the TLS certificate"):
        server_context(other_cert, key)


def test_generate_certificate_checks_its_input() -> None:
    with pytest.raises(ValueError, match="at least one host"):
        generate_certificate([], 1)
    with pytest.raises(ValueError, match="at least one day"):
        generate_certificate(["localhost"], 0)
    with pytest.raises(ValueError, match="neither a host name nor an IP address"):
        generate_certificate(["exa mple.com"], 1)
    pair = generate_certificate(["*.example.com", "[2001:db8::1]"], 1)
    certificate = x509.load_pem_x509_certificate(pair.cert_pem)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["*.example.com"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("2001:db8::1")]
    assert fingerprint(pair.cert_pem) != fingerprint(generate_certificate(["*.example.com"], 1).cert_pem)
