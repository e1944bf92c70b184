"""Wire models of the inbox."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from kibitz.server.auth.schemas import Strict, UserRef

IdStr = Annotated[str, Field(min_length=1, max_length=64)]


class InboxItemOut(BaseModel):
    id: str
    kind: Literal["mention", "assignment", "reply"]
    codemark_id: str
    reply_id: str | None
    # The codemark's title, or the first line of its text.
    codemark_title: str
    actor: UserRef
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxPage(BaseModel):
    items: list[InboxItemOut]
    next_cursor: str | None
    unread: int


class MarkReadIn(Strict):
    ids: Annotated[list[IdStr], Field(max_length=500)] | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> MarkReadIn:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all=true")
        return self


class MarkedRead(BaseModel):
    marked: int
