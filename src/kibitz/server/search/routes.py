"""HTTP route of search."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from kibitz.server.access import access_team
from kibitz.server.codemarks.schemas import CodemarkType
from kibitz.server.codemarks.service import CodemarkFilter
from kibitz.server.deps import CurrentCaller, DbSession
from kibitz.server.pagination import MAX_LIMIT
from kibitz.server.search import service
from kibitz.server.search.schemas import SearchPage
from kibitz.validation import CleanStr, RepoPath, Tag

router = APIRouter(tags=["search"])
IdQuery = Annotated[str | None, Query(max_length=64)]


@router.get("/teams/{team_id}/search")
async def search(
    team_id: str,
    session: DbSession,
    caller: CurrentCaller,
    q: Annotated[CleanStr, Query(min_length=1, max_length=500, description="Words that must all appear.")],
    repo_id: IdQuery = None,
    path: Annotated[RepoPath | None, Query()] = None,
    status: Literal["open", "resolved", "archived", "all"] = "all",
    type: CodemarkType | None = None,
    author: IdQuery = None,
    assignee: IdQuery = None,
    tag: Annotated[Tag | None, Query()] = None,
    since: Annotated[dt.datetime | None, Query(description="Created at or after (ISO 8601).")] = None,
    until: Annotated[dt.datetime | None, Query(description="Created before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> SearchPage:
    """Search the team's codemarks and their replies for every word of `q`, newest first, with filters."""
    await access_team(session, caller, team_id)
    flt = CodemarkFilter(
        repo_id=repo_id,
        path=path,
        status=None if status == "all" else status,
        type=type,
        author_id=author,
        assignee_id=assignee,
        tag=tag,
    )
    items, next_cursor = await service.search(
        session, caller.user.id, team_id, q, flt, _utc(since), _utc(until), limit, cursor
    )
    return SearchPage(items=items, next_cursor=next_cursor)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # A date without a zone is read as UTC, the zone of every time the API returns.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
