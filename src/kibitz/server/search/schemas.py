"""Wire models of search."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from kibitz.server.codemarks.schemas import CodemarkOut


class SearchMatch(BaseModel):
    kind: Literal["codemark", "reply"]
    id: str


class SearchHit(BaseModel):
    codemark: CodemarkOut
    # Where every searched word was found: the codemark's own title and text, or one of its replies.
    matches: list[SearchMatch]


class SearchPage(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None
