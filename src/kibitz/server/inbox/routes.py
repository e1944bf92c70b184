"""HTTP routes of the inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kibitz.server.access import access_team
from kibitz.server.deps import CurrentCaller, DbSession
from kibitz.server.inbox import service
from kibitz.server.inbox.schemas import InboxPage, MarkedRead, MarkReadIn
from kibitz.server.pagination import MAX_LIMIT

router = APIRouter(tags=["inbox"])


@router.get("/teams/{team_id}/inbox")
async def list_inbox(
    team_id: str,
    session: DbSession,
    caller: CurrentCaller,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> InboxPage:
    """List your inbox in a team (mentions, assignments, replies on codemarks you follow), newest first."""
    await access_team(session, caller, team_id)
    items, next_cursor = await service.list_inbox(session, team_id, caller.user.id, unread, limit, cursor)
    count = await service.unread_count(session, team_id, caller.user.id)
    return InboxPage(items=items, next_cursor=next_cursor, unread=count)


@router.post("/teams/{team_id}/inbox/read")
async def mark_read(team_id: str, body: MarkReadIn, session: DbSession, caller: CurrentCaller) -> MarkedRead:
    """Mark inbox items read: some by id, or all."""
    await access_team(session, caller, team_id)
    marked = await service.mark_read(session, team_id, caller.user.id, None if body.all else body.ids)
    return MarkedRead(marked=marked)
