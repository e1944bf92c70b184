"""The client's certificate options: parsing pins, checking them, building contexts, naming failures."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from kibitz.cli.errors import FAILURE, UNTRUSTED_CERTIFICATE, exit_code_for
from kibitz.cli.main import cli
from kibitz.client import (
    CertificateMismatch,
    CertificateRejected,
    ConnectionFailed,
    EventStream,
    KibitzClient,
    KibitzError,
    TlsOptions,
    format_fingerprint,
    parse_fingerprint,
)
from kibitz.client._tls import check_pin, connection_failed
from kibitz.server.tls import fingerprint, generate_certificate

DIGEST = bytes(range(32))
HEX = DIGEST.hex()


@pytest.mark.parametrize(
    "text",
    [
        HEX,
        HEX.upper(),
        format_fingerprint(DIGEST),
        format_fingerprint(DIGEST).lower(),
        f"  {HEX}\n",
        f"sha256 Fingerprint={format_fingerprint(DIGEST)}",
        f"SHA256:{HEX}",
        " ".join(HEX[i : i + 2] for i in range(0, 64, 2)),
    ],
)
def test_fingerprints_are_read_as_people_copy_them(text: str) -> None:
    assert parse_fingerprint(text) == DIGEST


@pytest.mark.parametrize(
    "text", ["", "abc", HEX[:-2], HEX + "00", HEX[:-1] + "g", "sha1:" + HEX, "md5 " + HEX]
)
def test_malformed_fingerprints_are_refused(text: str) -> None:
    with pytest.raises(KibitzError, match="64 hex digits"):
        parse_fingerprint(text)


def test_format_matches_openssl_style() -> None:
    assert format_fingerprint(b"\x00\xab\xff") == "00:AB:FF"


def test_server_and_client_agree_on_the_fingerprint() -> None:
    pair = generate_certificate(["localhost"], 1)
    der = ssl.PEM_cert_to_DER_cert(pair.cert_pem.decode())
    assert parse_fingerprint(fingerprint(pair.cert_pem)) == hashlib.sha256(der).digest()


def test_check_pin_accepts_only_the_pinned_certificate() -> None:
    der = b"certificate bytes"
    check_pin(der, hashlib.sha256(der).digest(), "example.test")
    with pytest.raises(CertificateMismatch, match=r"example\.test is not the pinned one") as raised:
        check_pin(der + b"!", hashlib.sha256(der).digest(), "example.test")
    assert format_fingerprint(hashlib.sha256(der + b"!").digest()) in raised.value.message
    with pytest.raises(CertificateMismatch, match="no certificate"):
        check_pin(None, DIGEST, None)


def test_no_options_leave_the_usual_check() -> None:
    options = TlsOptions.from_values(None, "")
    assert options.is_default
    assert options.ssl_context() is None


def test_a_pin_alone_replaces_the_ca_check_but_keeps_tls_1_2_or_newer() -> None:
    context = TlsOptions.from_values(cert_sha256=HEX).ssl_context()
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE  # the pin vouches for the certificate instead
    assert not context.check_hostname
    assert context.sslsocket_class is not ssl.SSLSocket


def test_a_ca_file_keeps_full_verification(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(generate_certificate(["localhost"], 1).cert_pem)
    context = TlsOptions.from_values(ca_file=ca).ssl_context()
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert context.sslsocket_class is ssl.SSLSocket
    both = TlsOptions.from_values(ca_file=ca, cert_sha256=HEX).ssl_context()
    assert both is not None
    assert (both.verify_mode, both.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert both.sslsocket_class is not ssl.SSLSocket


def test_an_unreadable_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KibitzError, match="cannot use the CA file"):
        TlsOptions.from_values(ca_file=tmp_path / "missing.pem").ssl_context()
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(KibitzError, match="cannot use the CA file"):
        KibitzClient("https://example.test", ca_file=garbage)


def test_a_pin_for_plain_http_is_refused() -> None:
    # Over http:// nothing would be checked, while the person believes the server is pinned.
    with pytest.raises(KibitzError, match="needs an https:// server URL"):
        KibitzClient("http://127.0.0.1:8383", cert_sha256=HEX)
    with pytest.raises(KibitzError, match="needs an https:// server URL"):
        EventStream("http://127.0.0.1:8383", "kbz_t", "team", cert_sha256=HEX)
    KibitzClient("https://127.0.0.1:8383", cert_sha256=HEX).close()


def test_connection_failures_tell_certificate_problems_apart() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "self-signed certificate"
    wrapped = httpx.ConnectError("boom")
    wrapped.__cause__ = verify
    rejected = connection_failed("https://k.test", wrapped)
    assert type(rejected) is CertificateRejected
    assert "self-signed certificate" in rejected.message
    assert "--ca-file" in rejected.message
    assert "--cert-sha256" in rejected.message

    mismatch = CertificateMismatch("not the pinned one")
    outer = httpx.ConnectError("boom")
    outer.__context__ = mismatch
    assert connection_failed("https://k.test", outer) is mismatch

    plain = connection_failed("https://k.test", httpx.ConnectError("connection refused"))
    assert type(plain) is ConnectionFailed
    assert plain.message == "cannot reach https://k.test: connection refused"


def test_certificate_errors_have_their_own_exit_code() -> None:
    assert UNTRUSTED_CERTIFICATE == 5
    assert exit_code_for(CertificateMismatch("x")) == UNTRUSTED_CERTIFICATE
    assert exit_code_for(CertificateRejected("x")) == UNTRUSTED_CERTIFICATE
    assert exit_code_for(ConnectionFailed("x")) == FAILURE


def test_the_cli_refuses_a_malformed_pin_as_a_usage_error(tmp_path: Path) -> None:
    env = {"KIBITZ_CONFIG_DIR": str(tmp_path), "KIBITZ_SERVER": "https://k.test", "KIBITZ_TOKEN": "kbz_t"}
    result = CliRunner().invoke(cli, ["--cert-sha256", "abc", "whoami"], env=env)
    assert result.exit_code == 2
    assert "64 hex digits" in result.output
    result = CliRunner().invoke(cli, ["whoami"], env={**env, "KIBITZ_CERT_SHA256": "zz"})
    assert result.exit_code == 2
    result = CliRunner().invoke(cli, ["--ca-file", str(tmp_path / "missing.pem"), "whoami"], env=env)
    assert result.exit_code == 2
    assert "does not exist" in result.output
