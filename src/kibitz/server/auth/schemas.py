"""Wire models of accounts and sessions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from kibitz.validation import CleanStr, Handle, Name, Password


class Strict(BaseModel):
    """Base of request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class SignupIn(Strict):
    email: EmailStr
    name: Name
    password: Password
    # What teammates type after `@`; derived from the email address when not given.
    handle: Handle | None = None


class LoginIn(Strict):
    email: EmailStr
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
