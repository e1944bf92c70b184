"""Wire models of teams, members and invites."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool

from kibitz.server.auth.schemas import Strict, UserOut, UserRef
from kibitz.validation import CleanStr, Name

Role = Literal["member", "admin", "owner"]


class TeamCreateIn(Strict):
    name: Name


class TeamOut(BaseModel):
    id: str
    name: str
    role: Role
    # Code-free mode: markers keep no code or context on the server, only a keyed fingerprint.
    code_free: bool
    created_at: dt.datetime


class TeamSettingsIn(Strict):
    # Strict: "yes" or 1 is a mistake to report, not a value to guess at.
    code_free: StrictBool


class MemberOut(BaseModel):
    user_id: str
    email: str
    name: str
    handle: str
    role: Role
    joined_at: dt.datetime


class InviteIn(Strict):
    role: Literal["member", "admin"] = "member"


class InviteOut(BaseModel):
    # The id lists and revokes the invite later; the code itself is shown only here.
    id: str
    code: str
    role: Literal["member", "admin"]
    expires_at: dt.datetime


class InviteInfoOut(BaseModel):
    """An invite as admins list it: never its code, which only its hash on the server could match."""

    id: str
    role: Literal["member", "admin"]
    created_by: UserRef
    created_at: dt.datetime
    expires_at: dt.datetime
    # Set once someone joined with it; `used_by` is null again if that person's account was erased.
    used_at: dt.datetime | None
    used_by: str | None


class JoinIn(Strict):
    code: Annotated[CleanStr, Field(min_length=1, max_length=200)]


class RoleIn(Strict):
    role: Role


class TransferIn(Strict):
    # The member who becomes owner; the caller becomes an admin.
    user_id: Annotated[CleanStr, Field(min_length=1, max_length=64)]


class MeOut(BaseModel):
    user: UserOut
    teams: list[TeamOut]
