"""HTTP routes of codemarks and replies."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from kibitz.server.access import access_codemark, access_reply, access_team
from kibitz.server.codemarks import service
from kibitz.server.codemarks.schemas import (
    BlockAt,
    CodemarkIn,
    CodemarkOut,
    CodemarkPage,
    CodemarkPatch,
    CodemarkType,
    ReferenceIn,
    ReplyIn,
    ReplyOut,
    ReplyPage,
)
from kibitz.server.deps import CurrentCaller, DbSession
from kibitz.server.pagination import MAX_LIMIT
from kibitz.validation import RepoPath, Tag

router = APIRouter(tags=["codemarks"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]
IdQuery = Annotated[str | None, Query(max_length=64)]


@router.post("/teams/{team_id}/codemarks", status_code=status.HTTP_201_CREATED)
async def create_codemark(
    team_id: str, body: CodemarkIn, session: DbSession, caller: CurrentCaller
) -> CodemarkOut:
    """Create a codemark pinned to one or more blocks of code."""
    await access_team(session, caller, team_id)
    codemark = await service.create_codemark(session, caller, team_id, body)
    return (await service.codemarks_out(session, [codemark]))[0]


@router.get("/teams/{team_id}/codemarks")
async def list_codemarks(
    team_id: str,
    session: DbSession,
    caller: CurrentCaller,
    repo_id: IdQuery = None,
    path: Annotated[RepoPath | None, Query()] = None,
    status: Literal["open", "resolved", "archived", "all"] = "all",
    type: CodemarkType | None = None,
    author: IdQuery = None,
    assignee: IdQuery = None,
    tag: Annotated[Tag | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CodemarkPage:
    """List a team's codemarks, newest first, with filters and cursor pagination."""
    await access_team(session, caller, team_id)
    flt = service.CodemarkFilter(
        repo_id=repo_id,
        path=path,
        status=None if status == "all" else status,
        type=type,
        author_id=author,
        assignee_id=assignee,
        tag=tag,
    )
    items, next_cursor = await service.list_codemarks(session, team_id, flt, limit, cursor)
    return CodemarkPage(items=items, next_cursor=next_cursor)


@router.get("/codemarks/{codemark_id}")
async def get_codemark(codemark_id: str, session: DbSession, caller: CurrentCaller) -> CodemarkOut:
    """Return one codemark."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return (await service.codemarks_out(session, [codemark]))[0]


@router.patch("/codemarks/{codemark_id}")
async def update_codemark(
    codemark_id: str, body: CodemarkPatch, session: DbSession, caller: CurrentCaller
) -> CodemarkOut:
    """Change a codemark's title, text, status, tags or assignees."""
    codemark, membership = await access_codemark(session, caller, codemark_id)
    await service.update_codemark(session, caller, membership, codemark, body)
    return (await service.codemarks_out(session, [codemark]))[0]


@router.delete("/codemarks/{codemark_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_codemark(codemark_id: str, session: DbSession, caller: CurrentCaller) -> Response:
    """Delete a codemark and its thread."""
    codemark, membership = await access_codemark(session, caller, codemark_id)
    await service.delete_codemark(session, caller, membership, codemark)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/codemarks/{codemark_id}/replies", status_code=status.HTTP_201_CREATED)
async def add_reply(codemark_id: str, body: ReplyIn, session: DbSession, caller: CurrentCaller) -> ReplyOut:
    """Add a reply to a codemark's thread."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    reply = await service.add_reply(session, caller, codemark, body.text)
    return (await service.replies_out(session, [reply]))[0]


@router.get("/codemarks/{codemark_id}/replies")
async def list_replies(
    codemark_id: str, session: DbSession, caller: CurrentCaller, limit: Limit = 50, cursor: Cursor = None
) -> ReplyPage:
    """List a codemark's replies, oldest first."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    items, next_cursor = await service.list_replies(session, codemark, limit, cursor)
    return ReplyPage(items=items, next_cursor=next_cursor)


@router.patch("/replies/{reply_id}")
async def edit_reply(reply_id: str, body: ReplyIn, session: DbSession, caller: CurrentCaller) -> ReplyOut:
    """Change a reply's text (its author only)."""
    reply, membership = await access_reply(session, caller, reply_id)
    await service.edit_reply(session, caller, membership, reply, body.text)
    return (await service.replies_out(session, [reply]))[0]


@router.delete("/replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_reply(reply_id: str, session: DbSession, caller: CurrentCaller) -> Response:
    """Delete a reply."""
    reply, membership = await access_reply(session, caller, reply_id)
    await service.delete_reply(session, caller, membership, reply)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/codemarks/{codemark_id}/markers/{marker_id}/references",
    responses={201: {"model": CodemarkOut, "description": "The reference was added"}},
)
async def add_reference(
    codemark_id: str,
    marker_id: str,
    body: ReferenceIn,
    session: DbSession,
    caller: CurrentCaller,
    response: Response,
) -> CodemarkOut:
    """Record where a marker's block is at another commit (201), or nothing if that commit is known (200)."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    if await service.add_reference(session, codemark, marker_id, body):
        response.status_code = status.HTTP_201_CREATED
    return (await service.codemarks_out(session, [codemark]))[0]


@router.post("/codemarks/{codemark_id}/markers/{marker_id}/promote")
async def promote_marker(
    codemark_id: str, marker_id: str, body: BlockAt, session: DbSession, caller: CurrentCaller
) -> CodemarkOut:
    """Give a provisional marker a real reference: a commit that contains its code (409 if done already)."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    await service.promote_marker(session, codemark, marker_id, body)
    return (await service.codemarks_out(session, [codemark]))[0]
