"""CSRF protection of every form: a hidden field another site cannot know.

Signed in, the field is derived from the session token (an HMAC of a fixed label keyed by it): bound to the
session, unknown to anyone who cannot read the HttpOnly cookie, and it needs no storage. Signed out (the
sign-in and sign-up forms, against login CSRF), it is a random value also kept in an HttpOnly cookie, and
the two must match. SameSite=Lax cookies already keep cross-site form posts unauthenticated; the token is
the second, independent lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl

from starlette.requests import Request

from kibitz.server.errors import CsrfRefused, ValidationFailed

CSRF_FIELD = "csrf"
ANONYMOUS_COOKIE = "kibitz_csrf"
# No form of ours has more fields than this; a body with more is not one of ours.
_MAX_FIELDS = 50


def session_csrf_token(session_token: str) -> str:
    """Return the CSRF token of the forms of a signed-in session."""
    return hmac.new(session_token.encode(), b"kibitz web form", hashlib.sha256).hexdigest()


def new_anonymous_token() -> str:
    """Return a fresh CSRF token for the forms of a signed-out browser."""
    return secrets.token_urlsafe(32)


def parse_form(body: bytes) -> dict[str, str]:
    """Parse a url-encoded form body (the first value of each field); NUL characters are refused."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("The form could not be read.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in value or "\x00" in name:
            raise ValidationFailed(
                "Text may not contain NUL characters.",
                [{"loc": ["form", name], "msg": "NUL characters are not accepted", "type": "nul_character"}],
            )
        form.setdefault(name, value)
    return form


def expected_tokens(request: Request, anonymous_cookie: str | None) -> list[str]:
    """Return the CSRF tokens a form of this request may carry (the session's, the anonymous cookie's)."""
    tokens = [token for token in (getattr(request.state, "csrf", None), anonymous_cookie) if token]
    return tokens


def check_csrf(given: str, expected: list[str]) -> None:
    """Raise CsrfRefused unless `given` is one of the `expected` tokens (compared in constant time)."""
    if not given or not any(hmac.compare_digest(given.encode(), token.encode()) for token in expected):
        raise CsrfRefused()
