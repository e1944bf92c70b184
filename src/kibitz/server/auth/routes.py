"""HTTP routes of accounts and sessions."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response, status

from kibitz.server.audit.service import record_audit
from kibitz.server.auth import service
from kibitz.server.auth.models import ApiToken, User
from kibitz.server.auth.passwords import context_words, weak_password_error
from kibitz.server.auth.people import Person, normalise_email, person_of
from kibitz.server.auth.schemas import LoginIn, LoginOut, SignupIn, UserOut
from kibitz.server.auth.signup_policy import check_signup
from kibitz.server.deps import AppState, CurrentCaller, DbSession, State
from kibitz.server.errors import InvalidCredentials, TooManyAttempts
from kibitz.server.teams.schemas import MeOut
from kibitz.server.teams.service import join_with_invite, list_teams, team_out
from kibitz.server.unit_of_work import UnitOfWork, transaction
from kibitz.validation import email_domain

router = APIRouter(tags=["accounts"])


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED)
async def signup(body: SignupIn, request: Request, session: DbSession, state: State) -> UserOut:
    """Create an account (with `invite`, joining that team too), as the server's sign-up mode allows."""
    address = state.client_address(request.client.host if request.client else None, request.headers)
    return service.user_out(await create_account(session, state, body, address))


async def create_account(session: UnitOfWork, state: AppState, body: SignupIn, address: str | None) -> Person:
    """Create an account as the sign-up policy, the throttle and the password rules allow (API and web)."""
    settings = state.settings
    check_signup(settings, body.email, invited=body.invite is not None)
    # Counted before anything costly, and whatever the outcome: it also slows down probing for emails.
    await state.login_throttle.attempt_signup(address)
    context = context_words(body.email, email_domain(body.email), body.name, body.handle or "")
    weak = await state.passwords.weakness(body.password, settings.password_min_score, context)
    if weak is not None:
        raise weak_password_error(weak, "password")
    user = await service.signup(session, state.passwords, body.email, body.name, body.password, body.handle)
    person = await person_of(session, user)
    if body.invite is not None:
        # In the same transaction: an invite that does not work leaves no account behind.
        await join_with_invite(session, person, address, body.invite)
    return person


@router.post("/auth/login")
async def login(body: LoginIn, request: Request, session: DbSession, state: State) -> LoginOut:
    """Exchange email and password for an API token (shown once), throttled per account and per address."""
    address = state.client_address(request.client.host if request.client else None, request.headers)
    ttl = dt.timedelta(days=state.settings.token_ttl_days)
    token, row, user = await checked_login(session, state, body.email, body.password, address, ttl)
    person = await person_of(session, user)
    return LoginOut(token=token, expires_at=row.expires_at, user=service.user_out(person))


async def checked_login(
    session: UnitOfWork,
    state: AppState,
    email: str,
    password: str,
    address: str | None,
    ttl: dt.timedelta,
    name: str = "login",
) -> tuple[str, ApiToken, User]:
    """Log in through the throttle, auditing every outcome; return the new session (API and web sign-in)."""
    # Every outcome is audited; refusals in a transaction of their own, as this one rolls back.
    email = normalise_email(email)
    try:
        # Before the password is looked at: a throttled guess costs no hashing and reveals nothing.
        await state.login_throttle.attempt(email, address)
    except TooManyAttempts as exc:
        # Refusals cost the attacker nothing, so only the first of a window is written down.
        if state.login_throttle.first_refusal(email, address):
            known = await service.find_user_by_email(session, email)
            async with transaction(state.sessionmaker) as apart:
                record_audit(
                    apart,
                    "login.throttled",
                    actor_id=known.id if known else None,
                    address=address,
                    retry_after=exc.retry_after,
                    limit=state.settings.login_rate_limit,
                )
        raise
    try:
        token, row, user = await service.login(session, state.passwords, email, password, ttl, name)
    except InvalidCredentials:
        known = await service.find_user_by_email(session, email)
        if known is None:
            reason = "unknown_account"
        else:
            reason = "wrong_password" if known.status == "active" else "account_disabled"
        async with transaction(state.sessionmaker) as apart:
            record_audit(
                apart, "login.failed", actor_id=known.id if known else None, address=address, reason=reason
            )
        raise
    record_audit(session, "login.succeeded", actor_id=user.id, target_id=row.id, address=address)
    return token, row, user


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(session: DbSession, caller: CurrentCaller, state: State) -> Response:
    """Revoke the token used for this request."""
    await service.logout(session, caller)
    session.after_commit(lambda: state.caches.forget_token(caller.token_hash))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me")
async def me(session: DbSession, caller: CurrentCaller) -> MeOut:
    """Return the caller and their teams."""
    teams = [await team_out(session, team, m.role) for team, m in await list_teams(session, caller)]
    return MeOut(user=service.user_out(caller.user), teams=teams)
