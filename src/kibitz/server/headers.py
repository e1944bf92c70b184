"""Security headers on every HTTP answer (docs/security.md, "Headers, errors, logs and metrics").

The API serves JSON only, so the content security policy allows nothing at all: a response that a browser
is tricked into rendering can load no script, style or frame, and no page may frame it. Answers to requests
that carried credentials, and every answer of the sign-in routes (they hand out tokens), must not be kept by
any cache. HSTS is sent only over HTTPS (the server's own TLS, or a trusted proxy's X-Forwarded-Proto), as
browsers ignore it over plain HTTP and it must not pin a host that has no certificate yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kibitz.server.addresses import Network, forwarded_https

CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
# Names that would tell an attacker which software and version answers.
_BANNERS = frozenset({b"server", b"x-powered-by"})
_CREDENTIAL_HEADERS = frozenset({b"authorization", b"cookie"})
# Login, signup and password changes answer with a token.
_AUTH_PREFIX = "/api/v1/auth/"


def carries_credentials(scope: Scope) -> bool:
    """Tell whether the request sent a credential (a bearer token or a cookie)."""
    return any(name.lower() in _CREDENTIAL_HEADERS for name, _ in scope.get("headers", ()))


def is_https(scope: Scope, trusted: Sequence[Network]) -> bool:
    """Tell whether the client reached us over HTTPS: our own TLS, or a trusted proxy says so."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    client = scope.get("client")
    return forwarded_https(client[0] if client else None, Headers(scope=scope), trusted)


def security_headers(
    scope: Scope, *, hsts_seconds: int, trusted: Sequence[Network]
) -> list[tuple[bytes, bytes]]:
    """Return the security headers for the answer to the request of `scope`."""
    headers = list(_ALWAYS)
    if carries_credentials(scope) or scope.get("path", "").startswith(_AUTH_PREFIX):
        headers.append((b"cache-control", b"no-store"))
    if hsts_seconds > 0 and is_https(scope, trusted):
        headers.append((b"strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains".encode()))
    return headers


def with_security_headers(
    existing: Iterable[tuple[bytes, bytes]], added: Sequence[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """Return `existing` without banners and without the names in `added`, followed by `added`."""
    replaced = {name for name, _ in added} | _BANNERS
    return [(name, value) for name, value in existing if name.lower() not in replaced] + list(added)


class SecurityHeaders:
    """Add the security headers to every HTTP answer."""

    def __init__(self, app: ASGIApp, *, hsts_seconds: int, trusted: Sequence[Network]) -> None:
        self.app = app
        self.hsts_seconds = hsts_seconds
        self.trusted = list(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # WebSockets pass through untouched: the stream accepts every handshake and refuses in band
            # (close codes), and a wrapper here would cost a call on every frame to every subscriber.
            await self.app(scope, receive, send)
            return
        added = security_headers(scope, hsts_seconds=self.hsts_seconds, trusted=self.trusted)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(message.get("headers", ()), added)
            await send(message)

        await self.app(scope, receive, send_with_headers)
