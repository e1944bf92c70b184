"""The account page: your profile and teams, password, tokens and sessions, export, erasing the account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kibitz.server.auth import tokens
from kibitz.server.auth.schemas import PasswordChangeIn, TokenCreatedOut, TokenCreateIn
from kibitz.server.auth.service import Caller
from kibitz.server.auth.token_routes import change_own_password, forget_tokens_after_commit
from kibitz.server.deps import AppState, DbSession, State
from kibitz.server.erasure.routes import erase_account
from kibitz.server.erasure.schemas import AccountDeleteIn
from kibitz.server.erasure.sweeper import finish_now
from kibitz.server.errors import KibitzError
from kibitz.server.export import service as export
from kibitz.server.export.routes import download
from kibitz.server.teams.service import list_teams, team_out
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.server.web.flash import flash, forget_flash, take_flash
from kibitz.server.web.pages import page, read_form, see_other
from kibitz.server.web.sessions import SESSION_COOKIE, SignedIn, clear_cookie
from kibitz.server.web.validated import validated

router = APIRouter(include_in_schema=False)

SCOPES = ("read", "write", "admin")
# What the page says after a form did its work (`?done=`): fixed sentences, never text from the request.
DONE = {"revoked": "The token was revoked."}
# The purpose a new token is handed to the account page under (kibitz.server.web.flash).
_CREATED_PURPOSE = "account page: created credential"


async def _account_page(
    request: Request,
    state: AppState,
    session: UnitOfWork,
    caller: Caller,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    teams = [await team_out(session, team, m.role) for team, m in await list_teams(session, caller)]
    rows = await tokens.list_tokens(session, caller)
    context.setdefault("new_token", None)
    context.setdefault("error", None)
    context.setdefault("error_section", None)
    context.setdefault("message", DONE.get(request.query_params.get("done", "")))
    return page(
        request,
        state,
        caller,
        "account/account.html",
        status=status,
        user=caller.user,
        teams=teams,
        tokens=[await tokens.token_out(session, row, caller) for row in rows],
        scopes=SCOPES,
        **context,
    )


async def _refused(
    request: Request, state: AppState, session: UnitOfWork, caller: Caller, error: KibitzError, section: str
) -> HTMLResponse:
    """Show the account page again with why a form was refused, next to that form."""
    response = await _account_page(
        request, state, session, caller, status=error.status, error=error.message, error_section=section
    )
    response.headers.update(error.http_headers() or {})
    return response


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, session: DbSession, caller: SignedIn, state: State) -> HTMLResponse:
    """Show your profile, teams, tokens and sessions, and the forms that change them (with a token just
    made, this once)."""
    made = take_flash(request, state, _CREATED_PURPOSE)
    new_token = TokenCreatedOut.model_validate(made) if made is not None else None
    response = await _account_page(request, state, session, caller, new_token=new_token)
    if made is not None:
        forget_flash(response, request, state)
    return response


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(
    request: Request, session: DbSession, caller: SignedIn, state: State
) -> HTMLResponse:
    """Change your password; every other login session ends (this one and named tokens stay)."""
    form = await read_form(request, state)
    try:
        body = validated(PasswordChangeIn, {k: form.get(k, "") for k in ("current_password", "new_password")})
        ended = await change_own_password(session, state, caller, body)
    except KibitzError as error:
        return await _refused(request, state, session, caller, error, "password")
    others = len(ended)
    message = f"Your password was changed; {others} other session{'' if others == 1 else 's'} ended."
    return await _account_page(request, state, session, caller, message=message)


@router.post("/account/tokens", response_class=HTMLResponse)
async def create_token(request: Request, session: DbSession, caller: SignedIn, state: State) -> Response:
    """Create a named token; the account page the browser is sent to shows it, this once (a reload makes
    no second token, and the token is never in an address)."""
    form = await read_form(request, state)
    body = validated(
        TokenCreateIn,
        {
            "name": form.get("name", ""),
            "scope": form.get("scope", ""),
            "expires_days": form.get("expires_days") or 90,
        },
    )
    token, row = await tokens.create_token(
        session, caller, body.name, body.scope, body.expires_days, address=caller.address
    )
    created = TokenCreatedOut(token=token, **(await tokens.token_out(session, row, caller)).model_dump())
    response = see_other("/account#tokens")
    flash(response, request, state, _CREATED_PURPOSE, created.model_dump(mode="json"))
    return response


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(
    token_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> Response:
    """Revoke one of your tokens or sessions (revoking this very session signs you out)."""
    await read_form(request, state)
    row = await tokens.revoke_token(session, caller, token_id, address=caller.address)
    forget_tokens_after_commit(session, state, [row])
    if row.id == caller.token_id:
        response = see_other("/signin")
        clear_cookie(response, request, state, SESSION_COOKIE)
        return response
    return see_other("/account?done=revoked")


@router.get("/account/export")
async def export_account(session: DbSession, caller: SignedIn, state: State) -> Response:
    """Download your profile, memberships, tokens' metadata and everything you wrote, as one JSON archive."""
    async with export.snapshot(state.sessionmaker) as reader:
        archive = await export.export_user(session, caller, reader)
    return download(archive, caller.user.id)


@router.post("/account/delete", response_class=HTMLResponse)
async def delete_account(
    request: Request, session: DbSession, caller: SignedIn, state: State
) -> HTMLResponse:
    """Erase your account and everything you wrote, for good, once your password confirms it."""
    form = await read_form(request, state)
    try:
        body = validated(AccountDeleteIn, {"password": form.get("password", "")})
        request_row = await erase_account(session, caller, state, body.password)
    except KibitzError as error:
        # A wrong password must not end the session as a refused sign-in would: the page says it instead.
        return await _refused(request, state, session, caller, error, "delete")
    finished = await finish_now(state.sessionmaker, state.settings, request_row.id)
    response = page(request, state, None, "account/deleted.html", finished=finished is not None)
    clear_cookie(response, request, state, SESSION_COOKIE)
    return response
