"""Failures of page requests answered as pages: a signed-out browser goes to the sign-in page (and comes
back afterwards), anything else gets a short page with the status and the error's message."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from kibitz.server.auth.service import Caller, authenticate, hash_token
from kibitz.server.db import utcnow
from kibitz.server.deps import AppState
from kibitz.server.errors import KibitzError, NotAuthenticated
from kibitz.server.unit_of_work import transaction
from kibitz.server.web.csrf import session_csrf_token
from kibitz.server.web.pages import page, see_other, sign_in_url
from kibitz.server.web.sessions import SESSION_COOKIE, clear_cookie, session_token

_API_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics", "/.well-known/")
_HEADINGS = {
    400: "Bad request",
    401: "Sign in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "Conflict",
    413: "Too large",
    422: "Not valid",
    429: "Too many attempts",
}


def wants_json(accept: str) -> bool:
    """Tell whether an Accept header asks for JSON rather than a page (a browser always names text/html)."""
    accept = accept.lower()
    html, json = accept.find("text/html"), accept.find("application/json")
    return html < 0 or 0 <= json < html


def is_page_request(request: Request) -> bool:
    """Tell whether a request is a browser's, for a page: not the API, and asking for HTML."""
    path = request.url.path
    if path.startswith(_API_PREFIXES):
        return False
    return not wants_json(request.headers.get("accept", ""))


async def page_error(request: Request, error: KibitzError) -> Response:
    """Answer a failed page request as a page."""
    state = request.app.state.kibitz
    if isinstance(error, NotAuthenticated):
        query = f"?{request.url.query}" if request.url.query else ""
        target = request.url.path + query if request.method == "GET" else None
        response = see_other(sign_in_url(target))
        clear_cookie(response, request, state, SESSION_COOKIE)
        return response
    heading = _HEADINGS.get(error.status, "Something went wrong")
    caller = getattr(request.state, "page_caller", None)
    unknown = False
    if caller is None and session_token(request, state) is not None:
        # The request failed before its session was looked at (no such page, a method the page does not
        # take): look now, so the page says who is signed in, or offers to sign in when the session ended.
        try:
            caller = await _signed_in(request, state)
        except (SQLAlchemyError, KibitzError):
            unknown = True  # the session could not be looked at: the page offers neither sign-in nor out
    answer: HTMLResponse = page(
        request, state, caller, "error.html", status=error.status, heading=heading, message=error.message,
        session_unknown=unknown,
    )  # fmt: skip
    answer.headers.update(error.http_headers() or {})
    return answer


async def _signed_in(request: Request, state: AppState) -> Caller | None:
    """Return who the browser's session cookie names (None when the session ended), without extending it."""
    token = session_token(request, state)
    if token is None:
        return None
    caller = state.caches.callers.get(hash_token(token))
    if caller is None or caller.expires_at <= utcnow():
        try:
            async with transaction(state.sessionmaker) as session:
                caller = await authenticate(session, token)
        except NotAuthenticated:
            return None
    # The page's sign-out form needs the session's CSRF token.
    request.state.csrf = session_csrf_token(token)
    return caller
