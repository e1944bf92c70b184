"""Show-once values that survive a redirect: a secret a form made (a new invite code) is shown by the page
the browser is sent to, once, and a reload neither shows it again nor makes another one.

The form answers with a redirect (post/redirect/get) and a short-lived cookie holding the value sealed with
AES-GCM under a key derived from the browser's session token (an HMAC of a fixed label keyed by it, as the
CSRF token is). So only this browser session can open it, every server process can (nothing is stored on
the server), no URL, log or cookie store holds the secret in the clear, and the sealed value names what it
is for (its purpose, bound as associated data) and when it stops counting. The page that shows it clears
the cookie.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import HTTPConnection
from starlette.responses import Response

from kibitz.server.deps import AppState
from kibitz.server.web.sessions import cookie_name, secure_connection, session_token

FLASH_COOKIE = "kibitz_flash"
# Long enough for the redirect to be followed, short enough that a forgotten one soon means nothing.
FLASH_LIFETIME = dt.timedelta(minutes=5)
_NONCE = 12


def _key(session: str) -> bytes:
    return hmac.new(session.encode(), b"kibitz show-once value", hashlib.sha256).digest()


def seal_flash(session: str, purpose: str, value: dict[str, Any], now: dt.datetime) -> str:
    """Return `value` sealed for the browser session `session`, to be opened for `purpose` until expiry."""
    expires = int((now + FLASH_LIFETIME).timestamp())
    plain = json.dumps({"until": expires, "value": value}, separators=(",", ":")).encode()
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key(session)).encrypt(nonce, plain, purpose.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def open_flash(session: str, purpose: str, sealed: str, now: dt.datetime) -> dict[str, Any] | None:
    """Return the value sealed for this session and purpose, or None (another session or purpose,
    expired, or not a value of ours)."""
    try:
        raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        plain = AESGCM(_key(session)).decrypt(raw[:_NONCE], raw[_NONCE:], purpose.encode())
        found = json.loads(plain)
    except (ValueError, binascii.Error, InvalidTag):
        return None
    if not isinstance(found, dict) or not isinstance(found.get("value"), dict):
        return None
    if not isinstance(found.get("until"), int) or found["until"] < now.timestamp():
        return None
    value: dict[str, Any] = found["value"]
    return value


def flash(
    response: Response, conn: HTTPConnection, state: AppState, purpose: str, value: dict[str, Any]
) -> None:
    """Send `value` with `response` (a redirect) for the next page of this browser session to show once."""
    session = session_token(conn, state)
    if session is None:
        return
    secure = secure_connection(conn, state)
    response.set_cookie(
        cookie_name(FLASH_COOKIE, secure),
        seal_flash(session, purpose, value, dt.datetime.now(dt.UTC)),
        max_age=int(FLASH_LIFETIME.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def take_flash(conn: HTTPConnection, state: AppState, purpose: str) -> dict[str, Any] | None:
    """Return the value a form left for this page (`purpose`), if any; `forget_flash` must then clear it."""
    secure = secure_connection(conn, state)
    sealed = conn.cookies.get(cookie_name(FLASH_COOKIE, secure))
    session = session_token(conn, state)
    if not sealed or session is None:
        return None
    return open_flash(session, purpose, sealed, dt.datetime.now(dt.UTC))


def forget_flash(response: Response, conn: HTTPConnection, state: AppState) -> None:
    """Tell the browser to drop the show-once cookie (the page showed its value)."""
    secure = secure_connection(conn, state)
    response.delete_cookie(
        cookie_name(FLASH_COOKIE, secure), path="/", secure=secure, httponly=True, samesite="strict"
    )
