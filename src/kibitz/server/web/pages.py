"""What every page route uses: the HTML answer, forms checked for CSRF, redirects, safe return paths.

A page route takes the caller from `sessions.PageCaller` / `sessions.SignedIn`, loads through the access
layer as the API does, answers with `page(...)`, and reads a form with `read_form(...)`, which refuses it
without the right CSRF token. Templates get `caller`, `csrf` (for the hidden field, see
`templates/_forms.html`), `team_id` (for the navigation; None outside a team), `signup_open` and `static`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kibitz.server.auth.service import Caller
from kibitz.server.deps import AppState
from kibitz.server.web.csrf import (
    ANONYMOUS_COOKIE,
    CSRF_FIELD,
    check_csrf,
    expected_tokens,
    new_anonymous_token,
    parse_form,
)
from kibitz.server.web.render import render_page
from kibitz.server.web.sessions import cookie_name, secure_connection, set_cookie
from kibitz.server.web.static import static_url

# A return path after sign-in: our own absolute path, never `//host`, `/\host` or a scheme.
_SAFE_PATH = re.compile(r"/(?![/\\])[^\x00-\x20\\]*")


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site (no other host, no scheme), else `/`."""
    if not target or len(target) > 2000 or not _SAFE_PATH.fullmatch(target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def sign_in_url(next_path: str | None) -> str:
    """Return the sign-in page's address that leads back to `next_path` afterwards."""
    target = safe_next(next_path)
    return "/signin" if target == "/" else f"/signin?next={quote(target, safe='/')}"


def anonymous_csrf(request: Request, state: AppState) -> tuple[str, bool]:
    """Return the signed-out browser's CSRF token and whether its cookie must be set now."""
    current = request.cookies.get(cookie_name(ANONYMOUS_COOKIE, secure_connection(request, state)))
    return (current, False) if current else (new_anonymous_token(), True)


def page(
    request: Request,
    state: AppState,
    caller: Caller | None,
    template: str,
    *,
    status: int = 200,
    team_id: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page for `caller` (None: signed out) with the context every template may use."""
    csrf = getattr(request.state, "csrf", None) if caller is not None else None
    new_cookie = False
    if csrf is None:
        csrf, new_cookie = anonymous_csrf(request, state)
    html = render_page(
        template,
        caller=caller,
        csrf=csrf,
        csrf_field=CSRF_FIELD,
        team_id=team_id,
        signup_open=state.settings.signup_mode != "closed",
        static=static_url,
        request_path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if new_cookie:
        set_cookie(response, request, state, ANONYMOUS_COOKIE, csrf)
    return response


async def read_form(request: Request, state: AppState) -> dict[str, str]:
    """Return a posted form's fields, or raise CsrfRefused if its CSRF token is missing or wrong."""
    form = parse_form(await request.body())
    anonymous = request.cookies.get(cookie_name(ANONYMOUS_COOKIE, secure_connection(request, state)))
    check_csrf(form.get(CSRF_FIELD, ""), expected_tokens(request, anonymous))
    return form


def see_other(location: str) -> Response:
    """Return a 303 redirect: after a form, the browser loads `location` with GET."""
    return RedirectResponse(location, status_code=303)
