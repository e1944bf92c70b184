"""Wire models of shared locations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from kibitz.server.auth.schemas import Strict
from kibitz.validation import CommitId, LineNumber, RepoPath

LocationStatus = Literal["unchanged", "shifted", "changed", "moved", "deleted"]
Algorithm = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]
IdStr = Annotated[str, Field(min_length=1, max_length=64)]
MAX_BATCH = 1000


class LocationIn(Strict):
    marker_id: IdStr
    path: RepoPath | None = None
    start_line: LineNumber | None = None
    end_line: LineNumber | None = None
    status: LocationStatus
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    why_commit: CommitId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LocationIn:
        placed = (self.path, self.start_line, self.end_line)
        if self.status == "deleted":
            if any(part is not None for part in placed):
                raise ValueError("a deleted location has no path or lines")
        elif any(part is None for part in placed):
            raise ValueError("a location that is not deleted needs path, start_line and end_line")
        elif self.start_line > self.end_line:  # type: ignore[operator]
            raise ValueError("start_line must not be greater than end_line")
        if self.why_commit is not None and self.status == "unchanged":
            raise ValueError("an unchanged location has no why_commit: nothing made it so")
        return self


class LocationsIn(Strict):
    commit: CommitId
    algorithm: Algorithm
    locations: Annotated[list[LocationIn], Field(min_length=1, max_length=MAX_BATCH)]


class LocationsStored(BaseModel):
    stored: int
    already_known: int


class LocationsQuery(Strict):
    commit: CommitId
    algorithm: Algorithm
    marker_ids: Annotated[list[IdStr], Field(min_length=1, max_length=MAX_BATCH)]


class LocationOut(BaseModel):
    marker_id: str
    commit: str
    algorithm: str
    path: str | None
    start_line: int | None
    end_line: int | None
    status: LocationStatus
    confidence: float
    why_commit: str | None
    computed_by: str | None
    created_at: dt.datetime


class LocationsOut(BaseModel):
    locations: list[LocationOut]
