"""Named tokens and login sessions: create, list, revoke; revoke a member's; change passwords; disable users.

Both kinds live in `api_token` (docs/security.md, "Tokens and sessions"): a login makes a `session` with every
scope, a person makes named `token`s with a scope and an expiry. Revoking sets `revoked_at`; every request
and every open stream checks it (the stream hub sweeps its subscribers twice a second), so a revocation is
felt everywhere within a second. Services here take the session, record the audit event in the same
transaction and never commit.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update

from kibitz.ids import is_id, new_id
from kibitz.server.access import has_role
from kibitz.server.audit.service import record_audit
from kibitz.server.auth.models import ApiToken, User
from kibitz.server.auth.passwords import Passwords, context_words, weak_password_error
from kibitz.server.auth.schemas import TokenOut
from kibitz.server.auth.service import TOKEN_PREFIX, Caller, find_user_by_email, hash_token
from kibitz.server.crypto.sealer import user_owner
from kibitz.server.db import utcnow
from kibitz.server.errors import Forbidden, InvalidRequest, NotFound
from kibitz.server.permissions import Scope, scopes_up_to
from kibitz.server.teams.models import Membership
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.validation import email_domain


async def seal_token_name(session: UnitOfWork, user_id: str, token_id: str, name: str) -> str:
    """Seal a token's name with its owner's key (a person's own words, erased with them)."""
    return await session.sealer.seal(user_owner(user_id), name, ApiToken.name, row=token_id)


async def token_name(session: UnitOfWork, row: ApiToken) -> str:
    """Return a token's name, opened."""
    return await session.sealer.open(row.name, ApiToken.name, row=row.id)


async def token_out(session: UnitOfWork, row: ApiToken, caller: Caller) -> TokenOut:
    """Return the wire form of a token as its owner sees it (never the token or its hash)."""
    return TokenOut.model_validate(
        {
            "id": row.id,
            "name": await token_name(session, row),
            "kind": row.kind,
            "scopes": row.scopes.split(),
            "created_at": row.created_at,
            "expires_at": row.expires_at,
            "revoked_at": row.revoked_at,
            "current": row.id == caller.token_id,
        }
    )


async def list_tokens(
    session: UnitOfWork, caller: Caller, *, include_inactive: bool = False
) -> list[ApiToken]:
    """Return the caller's tokens and sessions, newest first; revoked and expired ones only when asked."""
    query = select(ApiToken).where(ApiToken.user_id == caller.user.id)
    if not include_inactive:
        query = query.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
    result = await session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return list(result)


async def create_token(
    session: UnitOfWork,
    caller: Caller,
    name: str,
    scope: Scope,
    expires_days: int,
    *,
    address: str | None = None,
) -> tuple[str, ApiToken]:
    """Create a named token for the caller; return the token (shown once) and its row.

    A token cannot mint a token with a scope it does not carry itself.
    """
    scopes = scopes_up_to(scope)
    if not set(scopes.split()) <= set(caller.scopes.split()):
        raise Forbidden(
            f"This token cannot create a token with the {scope} scope.",
            {"needed_scope": scope, "token_scopes": caller.scopes.split()},
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token_id = new_id()
    row = ApiToken(
        id=token_id,
        user_id=caller.user.id,
        name=await seal_token_name(session, caller.user.id, token_id, name),
        kind="token",
        scopes=scopes,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_days),
        revoked_at=None,
    )
    session.add(row)
    await session.flush()
    record_audit(
        session,
        "token.created",
        actor_id=caller.user.id,
        target_id=row.id,
        address=address,
        kind=row.kind,
        scopes=scopes,
        expires_at=row.expires_at.isoformat(),
    )
    return token, row


async def revoke_token(
    session: UnitOfWork, caller: Caller, token_id: str, *, address: str | None = None
) -> ApiToken:
    """Revoke one of the caller's tokens or sessions (revoking a revoked one changes nothing).

    Another person's token is reported as missing, so ids reveal nothing.
    """
    row = await session.get(ApiToken, token_id) if is_id(token_id) else None
    if row is None or row.user_id != caller.user.id:
        raise NotFound("No such token.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_audit(
            session,
            "token.revoked",
            actor_id=caller.user.id,
            target_id=row.id,
            address=address,
            token_id=row.id,
            kind=row.kind,
            scopes=row.scopes,
            by=caller.user.id,
        )
        await session.flush()
    return row


async def _revoke_all(
    session: UnitOfWork, user_id: str, *, kind: str | None = None, keep: str | None = None
) -> list[ApiToken]:
    """Revoke the user's live tokens (of one kind, if given; all but `keep`) and return them."""
    now = utcnow()
    query = select(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
    )
    if kind is not None:
        query = query.where(ApiToken.kind == kind)
    if keep is not None:
        query = query.where(ApiToken.id != keep)
    rows = list(await session.scalars(query))
    if rows:
        # One guarded statement, so a token revoked meanwhile keeps its first revocation time.
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_([row.id for row in rows]), ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    return rows


async def revoke_member_tokens(
    session: UnitOfWork, actor: Membership, user_id: str, *, address: str | None = None
) -> list[ApiToken]:
    """Close the actor's team to every token and session a member holds now; an owner's only by an owner.

    Only this team: the tokens keep working for the member's other teams, which are not this admin's to
    close. A fresh login (or a new token) reaches the team again. Returns the live tokens that were cut off.
    """
    if user_id == actor.user_id:
        raise InvalidRequest("Revoke your own tokens with DELETE /api/v1/tokens/{token_id}.")
    target = await session.get(Membership, (actor.team_id, user_id)) if is_id(user_id) else None
    if target is None:
        raise NotFound("No such member.")
    if target.role == "owner" and not has_role(actor, "owner"):
        raise Forbidden("Only an owner can revoke an owner's tokens.")
    now = utcnow()
    rows = list(
        await session.scalars(
            select(ApiToken).where(
                ApiToken.user_id == user_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
                ApiToken.created_at <= now,
            )
        )
    )
    target.tokens_revoked_at = now
    await session.flush()
    record_audit(
        session,
        "member.tokens_revoked",
        team_id=actor.team_id,
        actor_id=actor.user_id,
        target_id=user_id,
        address=address,
        revoked=len(rows),
        token_ids=[row.id for row in rows],
        by=actor.user_id,
    )
    return rows


async def change_password(
    session: UnitOfWork,
    passwords: Passwords,
    caller: Caller,
    current_password: str,
    new_password: str,
    *,
    min_score: int = 0,
    address: str | None = None,
) -> list[ApiToken]:
    """Set a new password after checking the current one; end every other login session and return them.

    Named tokens are kept: they were made on purpose and are revoked one by one.
    """
    user = await session.get(User, caller.user.id)
    if user is None or not await passwords.verify(user.password_hash, current_password):
        raise Forbidden("The current password is wrong; nothing was changed.", {"field": "current_password"})
    person = caller.user
    context = context_words(person.email, email_domain(person.email), person.name, person.handle)
    weak = await passwords.weakness(new_password, min_score, context)
    if weak is not None:
        raise weak_password_error(weak, "new_password")
    user.password_hash = await passwords.hash(new_password)
    ended = await _revoke_all(session, user.id, kind="session", keep=caller.token_id)
    record_audit(
        session,
        "password.changed",
        actor_id=user.id,
        target_id=user.id,
        address=address,
        sessions_ended=len(ended),
    )
    return ended


async def set_user_status(session: UnitOfWork, email: str, status: str) -> tuple[User, list[ApiToken]]:
    """Disable or enable an account (an operator's act); disabling also revokes every token and session.

    Revoking, not just refusing, means enabling the account again does not bring back a token that may have
    leaked meanwhile: the person logs in afresh.
    """
    user = await find_user_by_email(session, email)
    if user is None:
        raise NotFound("No account has this email address.")
    revoked: list[ApiToken] = []
    if user.status != status:
        user.status = status
        if status == "disabled":
            revoked = await _revoke_all(session, user.id)
        record_audit(
            session,
            "user.disabled" if status == "disabled" else "user.enabled",
            target_id=user.id,
            by="operator",
            tokens_revoked=len(revoked),
        )
        await session.flush()
    return user, revoked
