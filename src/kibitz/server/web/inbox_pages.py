"""The inbox page: mentions, assignments and replies on followed threads, newest first; marking them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from kibitz.ids import is_id
from kibitz.server.access import access_team
from kibitz.server.deps import DbSession, State
from kibitz.server.errors import ValidationFailed
from kibitz.server.inbox import service
from kibitz.server.web.pages import page, read_form, see_other
from kibitz.server.web.sessions import SignedIn
from kibitz.server.web.team_context import team_page

router = APIRouter(include_in_schema=False)

INBOX_PAGE_SIZE = 50
KIND_WORDS = {"mention": "mentioned you in", "assignment": "assigned you to", "reply": "replied on"}


@router.get("/t/{team_id}/inbox", response_class=HTMLResponse)
async def inbox(
    team_id: str,
    request: Request,
    session: DbSession,
    caller: SignedIn,
    state: State,
    unread: bool = False,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> HTMLResponse:
    """Show your inbox in a team, newest first (`unread=true`: only what you have not read)."""
    membership = await access_team(session, caller, team_id)
    items, next_cursor = await service.list_inbox(
        session, team_id, caller.user.id, unread, INBOX_PAGE_SIZE, cursor or None
    )
    return page(
        request,
        state,
        caller,
        "inbox/inbox.html",
        team_id=team_id,
        frame=await team_page(session, membership, "inbox"),
        items=items,
        next_cursor=next_cursor,
        unread_only=unread,
        unread=await service.unread_count(session, team_id, caller.user.id),
        cursor=cursor,
        kind_words=KIND_WORDS,
    )


@router.post("/t/{team_id}/inbox/read")
async def mark_read(
    team_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> Response:
    """Mark one item (`item`) or all items (`all`) of your inbox read, then show the inbox again."""
    form = await read_form(request, state)
    await access_team(session, caller, team_id)
    item = form.get("item", "")
    if form.get("all"):
        await service.mark_read(session, team_id, caller.user.id, None)
    elif is_id(item):
        # Someone else's item, or one of another team, is simply not among the caller's: nothing changes.
        await service.mark_read(session, team_id, caller.user.id, [item])
    else:
        raise ValidationFailed("Say which item to mark read.", [{"loc": ["form", "item"], "msg": "missing"}])
    back = f"/t/{team_id}/inbox" + ("?unread=true" if form.get("unread_only") else "")
    return see_other(back)
