"""Security headers on every HTTP answer (docs/security.md, "Headers, errors, logs and metrics").

The API serves JSON only, so the content security policy of every answer but an HTML page allows nothing
at all: a response that a browser is tricked into rendering can load no script, style or frame, and no page
may frame it. The web pages (text/html) get a policy that allows only this server's own stylesheets, script,
forms and event stream: no inline script or style anywhere. Answers to requests
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
# The web pages (docs/web.md) load our own stylesheets and script, post forms to us and open the event
# stream; nothing inline, nothing from another origin.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The pages' assets are the same for everyone and may be cached even when the request carried a cookie.
_STATIC_PREFIX = "/static/"
_PAGE_CSP = PAGE_CONTENT_SECURITY_POLICY.encode()
# The sign-in and sign-up pages hand out sessions.
_PAGE_AUTH_PATHS = frozenset({"/signin", "/signup", "/signout"})
_CSP = b"content-security-policy"
_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (_CSP, CONTENT_SECURITY_POLICY.encode()),
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
    path: str = scope.get("path", "")
    headers = list(_ALWAYS)
    if (
        (carries_credentials(scope) and not path.startswith(_STATIC_PREFIX))
        or path.startswith(_AUTH_PREFIX)
        or path in _PAGE_AUTH_PATHS
    ):
        headers.append((b"cache-control", b"no-store"))
    if hsts_seconds > 0 and is_https(scope, trusted):
        headers.append((b"strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains".encode()))
    return headers


def for_content(
    added: Sequence[tuple[bytes, bytes]], existing: Iterable[tuple[bytes, bytes]]
) -> Sequence[tuple[bytes, bytes]]:
    """Return `added` with the pages' policy instead of the API's when the answer is an HTML page."""
    html = any(
        name.lower() == b"content-type" and value.lower().startswith(b"text/html") for name, value in existing
    )
    if not html:
        return added
    return [(name, _PAGE_CSP if name == _CSP else value) for name, value in added]


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
                existing = message.get("headers", ())
                message["headers"] = with_security_headers(existing, for_content(added, existing))
            await send(message)

        await self.app(scope, receive, send_with_headers)
