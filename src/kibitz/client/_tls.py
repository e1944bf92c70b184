"""How the client trusts a server's certificate: the usual CA check, a CA file, or a pinned fingerprint.

A pin (the SHA-256 of the server's DER certificate, as ``kibitz server gen-cert`` prints it) is for
self-signed servers: with a pin and no CA file the pin alone vouches for the server, like an SSH host key;
with both, the certificate must pass the CA check *and* match the pin.

The pin is checked inside the TLS layer: the context hands out socket and memory-BIO classes whose
``do_handshake`` compares the peer's certificate right after the handshake, before httpx or websockets get
the connection back. So not one byte of HTTP (no password, no token) ever reaches a server whose
certificate is not the pinned one, whatever the library above does with the socket.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from kibitz.client._errors import CertificateMismatch, CertificateRejected, ConnectionFailed, KibitzError

ENV_CA_FILE = "KIBITZ_CA_FILE"
ENV_CERT_SHA256 = "KIBITZ_CERT_SHA256"

_SEPARATORS = re.compile(r"[\s:-]")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def parse_fingerprint(text: str) -> bytes:
    """Return the 32-byte SHA-256 digest that ``text`` spells (hex, any case, ``:`` or spaces allowed)."""
    cleaned = text.strip().lower()
    # Accept what `openssl x509 -fingerprint -sha256` prints, prefix and all.
    for prefix in ("sha256 fingerprint=", "sha256:", "sha256="):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :]
            break
    cleaned = _SEPARATORS.sub("", cleaned)
    if not _HEX64.fullmatch(cleaned):
        raise KibitzError(
            f"{ENV_CERT_SHA256} / --cert-sha256 must be a SHA-256 fingerprint: 64 hex digits, "
            f"optionally separated by colons (got {text.strip()[:80]!r})"
        )
    return bytes.fromhex(cleaned)


def format_fingerprint(digest: bytes) -> str:
    """Return a digest as colon-separated upper-case hex pairs, the way `openssl x509` prints it."""
    return ":".join(f"{byte:02X}" for byte in digest)


def certificate_fingerprint(der: bytes) -> bytes:
    """Return the SHA-256 digest of a DER-encoded certificate."""
    return hashlib.sha256(der).digest()


def check_pin(der: bytes | None, pin: bytes, host: str | None) -> None:
    """Raise CertificateMismatch unless the certificate ``der`` hashes to ``pin``."""
    where = host or "the server"
    if not der:
        raise CertificateMismatch(f"{where} presented no certificate; nothing was sent to it")
    got = certificate_fingerprint(der)
    if not hmac.compare_digest(got, pin):
        raise CertificateMismatch(
            f"the certificate of {where} is not the pinned one, so nothing was sent to it "
            f"(its SHA-256 is {format_fingerprint(got)}; pinned: {format_fingerprint(pin)}). "
            f"If the server's certificate was replaced on purpose, pin the new fingerprint "
            f"({ENV_CERT_SHA256} / --cert-sha256)"
        )


def connection_failed(server_url: str, error: BaseException) -> ConnectionFailed:
    """Return the client error for a failed connection, telling a certificate problem from the rest."""
    cause: BaseException | None = error
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, CertificateMismatch):
            return cause
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or "verification failed"
            return CertificateRejected(
                f"cannot verify the TLS certificate of {server_url}: {reason}; nothing was sent to it. "
                f"Trust its CA with --ca-file FILE ({ENV_CA_FILE}), or pin a self-signed certificate "
                f"with --cert-sha256 FINGERPRINT ({ENV_CERT_SHA256})"
            )
        cause = cause.__cause__ or cause.__context__
    return ConnectionFailed(f"cannot reach {server_url}: {error or type(error).__name__}")


class _PinnedContext(ssl.SSLContext):
    """A client context that remembers the pinned digest for the sockets it wraps."""

    pin: bytes = b""


class _PinnedSocket(ssl.SSLSocket):
    """An SSL socket that refuses a peer certificate other than the pinned one as its handshake ends."""

    def do_handshake(self, block: bool = False) -> None:
        """Finish the handshake, then check the pin before anything can be written."""
        super().do_handshake(block)
        context = self.context
        if isinstance(context, _PinnedContext):
            try:
                check_pin(self.getpeercert(binary_form=True), context.pin, self.server_hostname)
            except CertificateMismatch:
                self.close()
                raise


class _PinnedObject(ssl.SSLObject):
    """The memory-BIO twin of _PinnedSocket, used for TLS through an HTTPS proxy."""

    def do_handshake(self) -> None:
        """Finish the handshake, then check the pin before anything can be written."""
        super().do_handshake()
        context = self.context
        if isinstance(context, _PinnedContext):
            check_pin(self.getpeercert(binary_form=True), context.pin, self.server_hostname)


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """What the client trusts beyond the system's CAs: a CA file and/or a pinned certificate digest."""

    ca_file: Path | None = None
    pin: bytes | None = None

    @classmethod
    def from_values(cls, ca_file: str | Path | None = None, cert_sha256: str | None = None) -> TlsOptions:
        """Build the options from a CA file path and a fingerprint as people type them (empty means unset)."""
        return cls(
            ca_file=Path(ca_file) if ca_file else None,
            pin=parse_fingerprint(cert_sha256) if cert_sha256 and cert_sha256.strip() else None,
        )

    @property
    def is_default(self) -> bool:
        """Tell whether nothing beyond the usual CA check was asked for."""
        return self.ca_file is None and self.pin is None

    def check_url(self, server_url: str) -> None:
        """Refuse a pin for a plain-HTTP server, where it would protect nothing while seeming to."""
        if self.pin is not None and not server_url.strip().lower().startswith("https://"):
            raise KibitzError(
                f"a pinned certificate ({ENV_CERT_SHA256} / --cert-sha256) needs an https:// server URL, "
                f"not {server_url.strip()!r}: over plain HTTP nothing would be checked"
            )

    def ssl_context(self) -> ssl.SSLContext | None:
        """Return the client context these options call for, or None for the libraries' usual check."""
        if self.is_default:
            return None
        context = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.ca_file is not None:
            try:
                context.load_verify_locations(cafile=str(self.ca_file))
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
                raise KibitzError(f"cannot use the CA file {self.ca_file}: {reason}") from exc
        if self.pin is not None:
            context.pin = self.pin
            context.sslsocket_class = _PinnedSocket
            context.sslobject_class = _PinnedObject
            if self.ca_file is None:
                # A self-signed certificate passes no CA check: the pin alone vouches for it (and is
                # stricter than a name check, since only this one certificate matches).
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        return context
