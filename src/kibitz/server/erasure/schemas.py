"""Wire models of erasure requests."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from kibitz.server.auth.schemas import Strict
from kibitz.validation import CleanStr


class AccountDeleteIn(Strict):
    # Checked like a login's: a stolen session alone cannot erase the account.
    password: Annotated[CleanStr, Field(max_length=1024)]


class TeamDeleteIn(Strict):
    # The team's name, typed again: deleting a team cannot be undone.
    confirm: Annotated[str, Field(max_length=1024)]


class ErasureOut(BaseModel):
    id: str
    subject_kind: Literal["user", "team"]
    # The erased user's or team's id: random, it names nobody once the rows are gone.
    subject_id: str
    requested_at: dt.datetime
    due_at: dt.datetime
    status: Literal["pending", "done"]
    completed_at: dt.datetime | None
