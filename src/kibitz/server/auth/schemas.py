"""Wire models of accounts and sessions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kibitz.validation import CleanStr, EmailAddress, Handle, LoginEmail, Name, Password

TokenScope = Literal["read", "write", "admin"]


class Strict(BaseModel):
    """Base of request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class SignupIn(Strict):
    email: EmailAddress
    name: Name
    password: Password
    # What teammates type after `@`; derived from the email address when not given.
    handle: Handle | None = None
    # An invite code: the new account joins its team at once. Needed when sign-up is invite-only.
    invite: Annotated[CleanStr, Field(min_length=1, max_length=200)] | None = None


class LoginIn(Strict):
    email: LoginEmail
    # Length is checked when the password is set; at login any wrong password is just wrong.
    password: Annotated[CleanStr, Field(max_length=1024)]


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    handle: str
    created_at: dt.datetime


class UserRef(BaseModel):
    id: str
    email: str
    name: str
    handle: str


class LoginOut(BaseModel):
    token: str
    expires_at: dt.datetime
    user: UserOut


class TokenCreateIn(Strict):
    name: Name
    # A token carries its scope and every weaker one (docs/security.md).
    scope: TokenScope
    expires_days: int = Field(default=90, ge=1, le=3650)


class TokenOut(BaseModel):
    id: str
    name: str
    kind: Literal["session", "token"]
    scopes: list[TokenScope]
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    # Whether this is the token the listing request was made with.
    current: bool


class TokenCreatedOut(TokenOut):
    # Shown once: only its hash is kept.
    token: str


class PasswordChangeIn(Strict):
    current_password: Annotated[CleanStr, Field(max_length=1024)]
    new_password: Password


class PasswordChangedOut(BaseModel):
    # How many other login sessions the change ended.
    sessions_ended: int


class TokensRevokedOut(BaseModel):
    # How many live tokens and sessions were revoked.
    revoked: int
