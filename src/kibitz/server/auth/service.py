"""Accounts and API tokens: sign up, log in, authenticate a request, log out."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from kibitz.ids import new_id
from kibitz.server.auth.models import ApiToken, User
from kibitz.server.auth.passwords import Passwords
from kibitz.server.auth.people import (
    Person,
    free_handle,
    handle_taken,
    person_of,
    seal_profile,
    user_by_email,
)
from kibitz.server.auth.people import (
    # Re-exported: the form of an email that is stored and shown (callers import it from here).
    normalise_email as normalise_email,
)
from kibitz.server.auth.schemas import UserOut, UserRef
from kibitz.server.crypto.sealer import user_owner
from kibitz.server.db import utcnow
from kibitz.server.errors import Conflict, InvalidCredentials, NotAuthenticated
from kibitz.server.unit_of_work import UnitOfWork

TOKEN_PREFIX = "kbz_"  # noqa: S105 - a public prefix that makes leaked tokens easy to spot


@dataclass(frozen=True)
class Caller:
    """The authenticated person behind a request and the token they used."""

    user: Person
    token_id: str
    token_hash: str
    expires_at: dt.datetime
    # Space-separated subset of "read write admin" (docs/security.md); a login session has all three.
    scopes: str = "read write admin"
    # The request's client address (addresses.client_address); set per request, never cached with the token.
    address: str | None = None
    # When the token was issued: a team whose admin revoked the member's tokens later refuses it.
    issued_at: dt.datetime | None = None


def hash_token(token: str) -> str:
    """Return the stored form of a token or code: its SHA-256 (they carry 256 random bits, no salt needed)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def find_user_by_email(session: UnitOfWork, email: str) -> User | None:
    """Return the user with this email address, if any (looked up by its blind index)."""
    return await user_by_email(session, email)


def handle_from_email(email: str) -> str:
    """Return a handle suggested by an email address's local part (letters, digits, `.`, `_`, `-`)."""
    local = re.sub(r"[^a-z0-9._-]", "", email.split("@", 1)[0].lower()).strip("._-")
    return (local or "user")[:24].ljust(2, "0")


async def signup(
    session: UnitOfWork,
    passwords: Passwords,
    email: str,
    name: str,
    password: str,
    handle: str | None = None,
) -> User:
    """Create an account; an email or a chosen handle already in use is a conflict."""
    if await find_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists.", {"field": "email"})
    if handle is not None and await handle_taken(session, handle):
        raise Conflict("This handle is taken.", {"field": "handle"})
    # The id comes first: the sealed values are bound to their row.
    user = User(
        id=new_id(),
        password_hash=await passwords.hash(password),
        status="active",
        created_at=utcnow(),
    )
    await seal_profile(
        session,
        user,
        email=email,
        name=name,
        handle=handle or await free_handle(session, handle_from_email(email)),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("An account with this email or handle already exists.") from None
    return user


async def login(
    session: UnitOfWork,
    passwords: Passwords,
    email: str,
    password: str,
    ttl: dt.timedelta,
    name: str = "login",
) -> tuple[str, ApiToken, User]:
    """Check the password and issue a new API token; return the token (shown once), its row and the user."""
    user = await find_user_by_email(session, email)
    if user is None:
        await passwords.verify_nothing(password)
        raise InvalidCredentials()
    matched, outdated = await passwords.check(user.password_hash, password)
    if not matched or user.status != "active":
        raise InvalidCredentials()
    if outdated:
        # A hash of the password as typed, from before passwords were normalised: from now on, its NFC form.
        user.password_hash = await passwords.hash(password)
    token, row = await issue_session(session, user.id, ttl, name)
    return token, row, user


async def issue_session(
    session: UnitOfWork, user_id: str, ttl: dt.timedelta, name: str = "login"
) -> tuple[str, ApiToken]:
    """Issue a session (a token with every scope) to a person already identified; return it and its row.

    A browser's session is one too (named "browser"), so every path that ends sessions ends it.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token_id = new_id()
    row = ApiToken(
        id=token_id,
        user_id=user_id,
        # Sealed like a named token's name, so every name in the table is (and reads back) one way.
        name=await session.sealer.seal(user_owner(user_id), name, ApiToken.name, row=token_id),
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + ttl,
        revoked_at=None,
    )
    session.add(row)
    await session.flush()
    return token, row


_TOKEN_AND_USER = (
    select(ApiToken, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


async def authenticate(session: UnitOfWork, token: str) -> Caller:
    """Return the caller for a bearer token, or raise NotAuthenticated."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise NotAuthenticated()
    digest = hash_token(token)
    result = await session.execute(_TOKEN_AND_USER, {"digest": digest})
    found = result.one_or_none()
    if found is None:
        raise NotAuthenticated()
    row, user = found
    # Constant-time comparison is moot after an indexed lookup, but keeps the check explicit.
    if not hmac.compare_digest(row.token_hash, digest):
        raise NotAuthenticated()
    if row.revoked_at is not None or row.expires_at <= utcnow() or user.status != "active":
        raise NotAuthenticated()
    return Caller(
        user=await person_of(session, user),
        token_id=row.id,
        token_hash=digest,
        expires_at=row.expires_at,
        scopes=row.scopes,
        issued_at=row.created_at,
    )


async def logout(session: UnitOfWork, caller: Caller) -> None:
    """Revoke the token the caller used."""
    row = await session.get(ApiToken, caller.token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def user_out(user: Person) -> UserOut:
    """Return the wire form of a user."""
    return UserOut(
        id=user.id, email=user.email, name=user.name, handle=user.handle, created_at=user.created_at
    )


def user_ref(user: Person) -> UserRef:
    """Return the short wire form of a user used inside other objects."""
    return UserRef(id=user.id, email=user.email, name=user.name, handle=user.handle)
