"""TLS for the server: the context it serves with, when plain HTTP is allowed, and self-signed certificates.

The context speaks TLS 1.2 and 1.3 only, and for TLS 1.2 only forward-secret AEAD suites (ECDHE with
AES-GCM or ChaCha20-Poly1305); TLS 1.3's suites are all of that kind already. Plain HTTP is served only on
a loopback address, or behind a TLS-terminating proxy whose addresses are listed (docs/security.md).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import re
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kibitz.settings import Settings

MIN_VERSION = ssl.TLSVersion.TLSv1_2
# TLS 1.2 suites: forward secrecy and authenticated encryption only (no CBC, no RSA key exchange).
CIPHERS_TLS12 = "ECDHE+AESGCM:ECDHE+CHACHA20"
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_DAYS = 365
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
# Labels of letters, digits and hyphens (a leading `*.` for a wildcard), at most 253 characters in all.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}\Z)(\*\.)?({_LABEL}\.)*{_LABEL}")


class TlsSetupError(ValueError):
    """The server cannot start as configured: plain HTTP where it is not allowed, or an unusable cert/key."""


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` (an address or ``localhost``) only listens on this machine."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        # Any other name may resolve to a public address: assume it does.
        return False


def plain_http_refusal(settings: Settings) -> str | None:
    """Return why the server must not start as configured, or None when its transport is acceptable."""
    if settings.tls_cert is not None or is_loopback(settings.host):
        return None
    if settings.behind_proxy and settings.trusted_proxy_networks():
        return None
    if settings.behind_proxy:
        return (
            f"plain HTTP on {settings.host} behind a proxy needs the proxies' addresses: set "
            "KIBITZ_TRUSTED_PROXIES (comma-separated addresses or CIDRs of the TLS-terminating proxies)"
        )
    return (
        f"refusing plain HTTP on the non-loopback address {settings.host}: serve TLS with "
        "--tls-cert FILE --tls-key FILE (`kibitz server gen-cert` makes a self-signed pair), or, behind a "
        "TLS-terminating proxy, set KIBITZ_BEHIND_PROXY=1 and KIBITZ_TRUSTED_PROXIES to its addresses"
    )


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """Return the server's TLS context (TLS 1.2+, AEAD suites) with the certificate chain and key loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MIN_VERSION
    context.set_ciphers(CIPHERS_TLS12)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    for path in (cert_file, key_file):
        # OpenSSL's own error would not say which file is missing.
        if not path.is_file():
            raise TlsSetupError(f"no such file: {path}")
    try:
        context.load_cert_chain(certfile=str(cert_file), keyfile=str(key_file))
    except (OSError, ssl.SSLError) as exc:
        raise TlsSetupError(
            f"cannot use the TLS certificate {cert_file} with the key {key_file}: "
            f"{getattr(exc, 'reason', None) or exc} (both must be PEM, and the key must fit the certificate)"
        ) from exc
    return context


def fingerprint(cert_pem: bytes) -> str:
    """Return the SHA-256 fingerprint of a PEM certificate as colon-separated hex (what clients pin)."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


@dataclass(frozen=True, slots=True)
class CertificatePair:
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes


def generate_certificate(
    hosts: Sequence[str] = DEFAULT_HOSTS, days: int = DEFAULT_DAYS, *, now: datetime.datetime | None = None
) -> CertificatePair:
    """Return a self-signed ECDSA P-256 certificate valid for ``hosts`` (names or addresses) for ``days``."""
    if not hosts:
        raise ValueError("a certificate needs at least one host name or address")
    if days < 1:
        raise ValueError("a certificate must be valid for at least one day")
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        bare = host.strip().strip("[]")
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(bare)))
        except ValueError:
            if not _HOST_NAME.fullmatch(bare):
                raise ValueError(f"{host!r} is neither a host name nor an IP address") from None
            names.append(x509.DNSName(bare.lower()))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0].strip().strip("[]")[:64])])
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(minutes=5)  # clock skew
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificatePair(
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def write_certificate(pair: CertificatePair, out_dir: Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``cert.pem`` (0644) and ``key.pem`` (0600, born so) into ``out_dir``; return their paths."""
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path, key_path = out_dir / CERT_FILE, out_dir / KEY_FILE
    if not overwrite:
        for path in (cert_path, key_path):
            if path.exists():
                raise FileExistsError(f"{path} exists (pass --force to replace it)")
    _write_new(key_path, pair.key_pem, 0o600)
    _write_new(cert_path, pair.cert_pem, 0o644)
    return cert_path, key_path


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a fresh file created with ``mode`` under a temporary name, then swap it in atomically."""
    # Created with O_EXCL under an unpredictable name, the key is never readable by others, not even briefly.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(temporary, mode)  # the umask may have narrowed the cert's mode; never widens the key's
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
