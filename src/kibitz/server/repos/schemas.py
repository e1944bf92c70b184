"""Wire models of repositories."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from kibitz.server.auth.schemas import Strict
from kibitz.validation import CleanStr, CommitId, Name

RemoteUrl = Annotated[CleanStr, Field(min_length=1, max_length=2048)]


class RepoMatchIn(Strict):
    root_commits: Annotated[list[CommitId], Field(max_length=20)] = []
    remotes: Annotated[list[RemoteUrl], Field(max_length=20)] = []
    name: Name | None = None

    @model_validator(mode="after")
    def _needs_identity(self) -> RepoMatchIn:
        if not self.root_commits and not self.remotes:
            raise ValueError("give at least one root commit or remote")
        return self


class RepoRenameIn(Strict):
    name: Name


class RepoOut(BaseModel):
    id: str
    team_id: str
    name: str
    root_commits: list[str]
    remotes: list[str]
    created_at: dt.datetime
