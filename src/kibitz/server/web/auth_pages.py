"""Sign in, sign out and sign up in the browser, through the same throttle, audit and policy as the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from kibitz.server.auth.routes import checked_login, create_account
from kibitz.server.auth.schemas import LoginIn, SignupIn
from kibitz.server.auth.service import issue_session, logout
from kibitz.server.deps import DbSession, State
from kibitz.server.errors import InvalidCredentials, KibitzError, TooManyAttempts
from kibitz.server.web.pages import page, read_form, safe_next, see_other
from kibitz.server.web.sessions import (
    SESSION_COOKIE,
    SESSION_NAME,
    PageCaller,
    clear_cookie,
    idle_limit,
    set_cookie,
)

router = APIRouter(include_in_schema=False)


def _address(request: Request, state: State) -> str | None:
    return state.client_address(request.client.host if request.client else None, request.headers)


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error.get("loc", ()))
    return f"{field}: {error.get('msg', 'not valid')}" if field else str(error.get("msg", "not valid"))


@router.get("/signin")
async def sign_in_form(request: Request, state: State, caller: PageCaller, next: str = "/") -> Response:
    """Show the sign-in form (to a signed-in person too: signing in again starts a new session)."""
    return page(request, state, caller, "signin.html", next=safe_next(next), email="", error="")


@router.post("/signin")
async def sign_in(request: Request, session: DbSession, state: State, caller: PageCaller) -> Response:
    """Check the password (throttled and audited as for the API) and start a new browser session."""
    form = await read_form(request, state)
    target = safe_next(form.get("next"))
    email = form.get("email", "")
    try:
        body = LoginIn.model_validate({"email": email, "password": form.get("password", "")})
        address, ttl = _address(request, state), idle_limit(state)
        token, _row, _user = await checked_login(
            session, state, body.email, body.password, address, ttl, SESSION_NAME
        )
    except (ValidationError, InvalidCredentials):
        return page(
            request, state, None, "signin.html", status=401, next=target, email=email,
            error="The email or the password is wrong.",
        )  # fmt: skip
    except TooManyAttempts as exc:
        refused = page(
            request, state, None, "signin.html", status=429, next=target, email=email, error=exc.message
        )
        refused.headers.update(exc.http_headers() or {})
        return refused
    if caller is not None:
        # A new session replaces the one this browser had: the old token is revoked, never reused.
        await logout(session, caller)
        session.after_commit(lambda: state.caches.forget_token(caller.token_hash))
    response = see_other(target)
    set_cookie(response, request, state, SESSION_COOKIE, token)
    return response


@router.post("/signout")
async def sign_out(request: Request, session: DbSession, state: State, caller: PageCaller) -> Response:
    """End this browser's session (its token is revoked) and forget the cookie."""
    await read_form(request, state)
    if caller is not None:
        await logout(session, caller)
        session.after_commit(lambda: state.caches.forget_token(caller.token_hash))
    response = see_other("/signin")
    clear_cookie(response, request, state, SESSION_COOKIE)
    return response


@router.get("/signup")
async def sign_up_form(request: Request, state: State, caller: PageCaller, next: str = "/") -> Response:
    """Show the sign-up form when this server takes sign-ups."""
    if caller is not None:
        return see_other(safe_next(next))
    return _sign_up_page(request, state, 200, safe_next(next), {}, "")


def _sign_up_page(
    request: Request, state: State, status: int, target: str, form: dict[str, str], error: str
) -> Response:
    mode = state.settings.signup_mode
    if mode == "closed":
        error = "This server does not take new sign-ups; ask its operator for an account."
        status = 403 if status == 200 else status
    return page(
        request, state, None, "signup.html", status=status, next=target, error=error,
        email=form.get("email", ""), name=form.get("name", ""), invite=form.get("invite", ""),
        invite_only=mode == "invite",
    )  # fmt: skip


@router.post("/signup")
async def sign_up(request: Request, session: DbSession, state: State) -> Response:
    """Create an account as the server's sign-up policy allows, and sign it in."""
    form = await read_form(request, state)
    target = safe_next(form.get("next"))
    fields = {name: form.get(name, "") for name in ("email", "name", "password")}
    if form.get("invite"):
        fields["invite"] = form["invite"]
    try:
        body = SignupIn.model_validate(fields)
    except ValidationError as exc:
        return _sign_up_page(request, state, 422, target, form, _first_problem(exc))
    try:
        person = await create_account(session, state, body, _address(request, state))
    except KibitzError as exc:
        # Nothing of a refused sign-up may stay (an account without its invite, say).
        await session.rollback()
        return _sign_up_page(request, state, exc.status, target, form, exc.message)
    token, _row = await issue_session(session, person.id, idle_limit(state), SESSION_NAME)
    response = see_other(target)
    set_cookie(response, request, state, SESSION_COOKIE, token)
    return response
