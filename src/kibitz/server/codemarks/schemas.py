"""Wire models of codemarks, markers and replies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from kibitz.server.auth.schemas import Strict, UserRef
from kibitz.validation import CommitId, LineNumber, LongText, RepoPath, Tag, Title

CodemarkType = Literal["comment", "question", "issue", "bookmark", "link"]
CodemarkStatus = Literal["open", "resolved", "archived"]
IdStr = Annotated[str, Field(min_length=1, max_length=64)]


ReferenceKind = Literal["upstream", "blame", "other"]


class BlockAt(Strict):
    """Where a block is at one commit."""

    commit: CommitId
    path: RepoPath
    start_line: LineNumber
    end_line: LineNumber

    @model_validator(mode="after")
    def _ordered(self) -> BlockAt:
        if self.start_line > self.end_line:
            raise ValueError("start_line must not be greater than end_line")
        return self


class ReferenceIn(BlockAt):
    kind: ReferenceKind = "other"


class ReferenceOut(BaseModel):
    kind: ReferenceKind
    commit: str
    path: str
    start_line: int
    end_line: int


class MarkerIn(Strict):
    repo_id: IdStr
    path: RepoPath
    commit: CommitId
    start_line: LineNumber
    end_line: LineNumber
    code: LongText
    context_before: LongText = ""
    context_after: LongText = ""
    provisional: bool = False
    references: Annotated[list[ReferenceIn], Field(max_length=10)] = []

    @model_validator(mode="after")
    def _ordered(self) -> MarkerIn:
        if self.start_line > self.end_line:
            raise ValueError("start_line must not be greater than end_line")
        return self


class CodemarkIn(Strict):
    type: CodemarkType = "comment"
    title: Title = ""
    text: LongText
    markers: Annotated[list[MarkerIn], Field(min_length=1, max_length=20)]
    assignees: Annotated[list[IdStr], Field(max_length=50)] = []
    tags: Annotated[list[Tag], Field(max_length=20)] = []
    related: Annotated[list[IdStr], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _says_something(self) -> CodemarkIn:
        if not self.text.strip() and not self.title.strip():
            raise ValueError("give a text or a title")
        return self


class CodemarkPatch(Strict):
    title: Title | None = None
    text: LongText | None = None
    status: CodemarkStatus | None = None
    assignees: Annotated[list[IdStr], Field(max_length=50)] | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    pinned: bool | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> CodemarkPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        return self


class MarkerOut(BaseModel):
    id: str
    repo_id: str
    path: str
    commit: str
    start_line: int
    end_line: int
    code: str
    context_before: str
    context_after: str
    # True when the server holds no code for this marker (its team is code-free): `code` and the context
    # are empty and the client rebuilds them from git at `commit`.
    code_free: bool
    provisional: bool
    references: list[ReferenceOut]


class ReactionOut(BaseModel):
    emoji: str
    count: int
    users: list[str]


class CodemarkOut(BaseModel):
    id: str
    team_id: str
    type: CodemarkType
    status: CodemarkStatus
    title: str
    text: str
    author: UserRef
    assignees: list[UserRef]
    tags: list[str]
    markers: list[MarkerOut]
    reply_count: int
    pinned: bool
    # The codemark's permanent address on its server (`/c/<id>`); clients join it with the server URL.
    permalink: str
    mentions: list[str]
    reactions: list[ReactionOut]
    followers: list[str]
    related: list[str]
    edited: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CodemarkPage(BaseModel):
    items: list[CodemarkOut]
    next_cursor: str | None


class ReplyIn(Strict):
    text: LongText

    @model_validator(mode="after")
    def _not_blank(self) -> ReplyIn:
        if not self.text.strip():
            raise ValueError("text must not be blank")
        return self


class ReplyOut(BaseModel):
    id: str
    codemark_id: str
    author: UserRef
    # Empty for a deleted reply, which stays in the thread as a tombstone.
    text: str
    deleted: bool
    edited: bool
    mentions: list[str]
    reactions: list[ReactionOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class CodemarkVersion(BaseModel):
    title: str
    text: str
    editor: UserRef
    replaced_at: dt.datetime


class ReplyVersion(BaseModel):
    text: str
    replaced_at: dt.datetime


class ReplyPage(BaseModel):
    items: list[ReplyOut]
    next_cursor: str | None


class IdMatches(BaseModel):
    """The ids of the codemarks and replies the caller may see that begin with a prefix (at most 10 each)."""

    codemarks: list[str]
    replies: list[str]
