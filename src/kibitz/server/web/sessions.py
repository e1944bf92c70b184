"""Browser sessions: a cookie holding a login session token of the ordinary token machinery.

A web session IS an `api_token` row of kind `session` (named "browser"), so everything that ends sessions
ends it too: signing out, revoking it in the token list, a password change, an operator disabling the
account, an admin's revoke-all for a team, and membership checks on every request. The cookie is HttpOnly,
SameSite=Lax, Secure over HTTPS (and then named with the `__Host-` prefix, which browsers accept only from
a secure origin, for the whole host, without a Domain), and it lives only as long as the browser session.
The token expires after `session_idle_minutes` without a request; each request that comes more than a
minute after the last extension pushes the expiry forward, never past `token_ttl_days` after sign-in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy import update
from starlette.requests import HTTPConnection

from kibitz.server.auth.models import ApiToken
from kibitz.server.auth.service import Caller, authenticate, hash_token
from kibitz.server.db import utcnow
from kibitz.server.deps import AppState, DbSession, State, required_scope
from kibitz.server.errors import Forbidden, NotAuthenticated
from kibitz.server.headers import is_https
from kibitz.server.permissions import allows
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.server.web.csrf import session_csrf_token

SESSION_COOKIE = "kibitz_session"
SESSION_NAME = "browser"
# An extension is written at most once a minute per session: a page and its assets need not each write.
_EXTEND_AFTER = dt.timedelta(minutes=1)


def secure_connection(conn: HTTPConnection, state: AppState) -> bool:
    """Tell whether the browser reached us over HTTPS (our own TLS, or a trusted proxy says so)."""
    return is_https(conn.scope, state.trusted_proxies)


def cookie_name(base: str, secure: bool) -> str:
    """Return a cookie's name: with the `__Host-` prefix over HTTPS, as is only allowed there."""
    return f"__Host-{base}" if secure else base


def session_token(conn: HTTPConnection, state: AppState) -> str | None:
    """Return the session token the browser's cookie carries, if any."""
    return conn.cookies.get(cookie_name(SESSION_COOKIE, secure_connection(conn, state))) or None


def set_cookie(response: Response, conn: HTTPConnection, state: AppState, base: str, value: str) -> None:
    """Set an HttpOnly, SameSite=Lax cookie for the whole site (Secure over HTTPS) for the browser session."""
    secure = secure_connection(conn, state)
    response.set_cookie(
        cookie_name(base, secure), value, path="/", secure=secure, httponly=True, samesite="lax"
    )


def clear_cookie(response: Response, conn: HTTPConnection, state: AppState, base: str) -> None:
    """Tell the browser to drop a cookie."""
    secure = secure_connection(conn, state)
    response.delete_cookie(cookie_name(base, secure), path="/", secure=secure, httponly=True, samesite="lax")


def idle_limit(state: AppState) -> dt.timedelta:
    """Return how long a browser session lasts without a request."""
    return dt.timedelta(minutes=state.settings.session_idle_minutes)


def extended_expiry(
    now: dt.datetime,
    expires_at: dt.datetime,
    issued_at: dt.datetime | None,
    idle: dt.timedelta,
    most: dt.timedelta,
) -> dt.datetime | None:
    """Return a session's new expiry after a request at `now`, or None if it need not be written yet."""
    latest = (issued_at or now) + most
    wanted = min(now + idle, latest)
    return wanted if wanted - expires_at >= _EXTEND_AFTER else None


async def keep_alive(session: UnitOfWork, caller: Caller, state: AppState) -> None:
    """Push the session's idle expiry forward (at most once a minute)."""
    most = dt.timedelta(days=state.settings.token_ttl_days)
    new = extended_expiry(utcnow(), caller.expires_at, caller.issued_at, idle_limit(state), most)
    if new is not None:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == caller.token_id, ApiToken.revoked_at.is_(None))
            .values(expires_at=new)
            .execution_options(synchronize_session=False)
        )
        state.caches.forget_token(caller.token_hash)


async def page_caller(request: Request, session: DbSession, state: State) -> Caller | None:
    """Return the signed-in person of a page request (None when signed out or the session ended).

    The route's rule in the permission matrix applies as for API tokens (an unlisted page is refused).
    """
    token = session_token(request, state)
    if token is None:
        return None
    caller = state.caches.callers.get(hash_token(token))
    if caller is None or caller.expires_at <= utcnow():
        try:
            caller = await authenticate(session, token)
        except NotAuthenticated:
            return None
        state.caches.callers[caller.token_hash] = caller
    needed = required_scope(request)
    if not allows(caller.scopes, needed):
        raise Forbidden(f"This session lacks the {needed} scope.", {"needed_scope": needed})
    await keep_alive(session, caller, state)
    request.state.csrf = session_csrf_token(token)
    peer = request.client.host if request.client else None
    caller = dataclasses.replace(caller, address=state.client_address(peer, request.headers))
    # For the error page, should this request fail later: it still shows who is signed in.
    request.state.page_caller = caller
    return caller


class SignInNeeded(NotAuthenticated):
    """A page that needs a signed-in person was asked for without a live session (the browser is sent to
    the sign-in page, and back afterwards)."""

    def __init__(self) -> None:
        super().__init__("Sign in to see this page.")


async def require_signed_in(caller: Annotated[Caller | None, Depends(page_caller)]) -> Caller:
    """Return the signed-in person, or send the browser to the sign-in page."""
    if caller is None:
        raise SignInNeeded()
    return caller


PageCaller = Annotated[Caller | None, Depends(page_caller)]
SignedIn = Annotated[Caller, Depends(require_signed_in)]
