"""HTTP routes of codemarks, their threads, reactions, follows, relations and references."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from kibitz.ids import ID_LENGTH, ID_PREFIX_MIN
from kibitz.server.access import access_codemark, access_reply, access_team, access_team_cached
from kibitz.server.codemarks import replies, service
from kibitz.server.codemarks.page import cached_codemark_page
from kibitz.server.codemarks.render import codemarks_out
from kibitz.server.codemarks.schemas import (
    BlockAt,
    CodemarkIn,
    CodemarkOut,
    CodemarkPage,
    CodemarkPatch,
    CodemarkType,
    CodemarkVersion,
    IdMatches,
    ReactionOut,
    ReferenceIn,
    ReplyIn,
    ReplyOut,
    ReplyPage,
    ReplyVersion,
)
from kibitz.server.deps import CurrentCaller, DbSession, State
from kibitz.server.errors import Conflict
from kibitz.server.pagination import MAX_LIMIT
from kibitz.validation import Emoji, RepoPath, Tag

router = APIRouter(tags=["codemarks"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]
IdQuery = Annotated[str | None, Query(max_length=64)]
EmojiPath = Annotated[Emoji, Path(description="One emoji, URL-encoded.")]


@router.post("/teams/{team_id}/codemarks", status_code=status.HTTP_201_CREATED)
async def create_codemark(
    team_id: str, body: CodemarkIn, session: DbSession, caller: CurrentCaller
) -> CodemarkOut:
    """Create a codemark pinned to one or more blocks of code."""
    await access_team(session, caller, team_id)
    return await service.create_codemark(session, caller, team_id, body)


class CodemarkQuery(BaseModel):
    """A listing's filters and page, as query parameters: one model, validated in one pass."""

    repo_id: str | None = Field(None, max_length=64)
    path: RepoPath | None = None
    status: Literal["open", "resolved", "archived", "all"] = "all"
    type: CodemarkType | None = None
    author: str | None = Field(None, max_length=64)
    assignee: str | None = Field(None, max_length=64)
    tag: Tag | None = None
    pinned: bool | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, max_length=512)

    def codemark_filter(self) -> service.CodemarkFilter:
        """Return the service's filter of these values."""
        return service.CodemarkFilter(
            repo_id=self.repo_id,
            path=self.path,
            status=None if self.status == "all" else self.status,
            type=self.type,
            author_id=self.author,
            assignee_id=self.assignee,
            tag=self.tag,
            pinned=self.pinned,
        )


@router.get("/teams/{team_id}/codemarks", response_model=CodemarkPage)
async def list_codemarks(
    team_id: str,
    query: Annotated[CodemarkQuery, Query()],
    session: DbSession,
    caller: CurrentCaller,
    state: State,
) -> Response:
    """List the team's codemarks the caller may see, newest first, with filters and cursor pagination."""
    await access_team_cached(session, caller, team_id, state.caches)
    flt = query.codemark_filter()
    body = await cached_codemark_page(session, caller, team_id, flt, query.limit, query.cursor, state.caches)
    return Response(body, media_type="application/json")


@router.get("/teams/{team_id}/ids")
async def ids_with_prefix(
    team_id: str,
    session: DbSession,
    caller: CurrentCaller,
    prefix: Annotated[
        str, Query(min_length=ID_PREFIX_MIN, max_length=ID_LENGTH, pattern="^[0-9abcdefghjkmnpqrstvwxyz]+$")
    ],
) -> IdMatches:
    """Return the ids of the team's codemarks and replies (the caller may see) that begin with a prefix."""
    await access_team(session, caller, team_id)
    return await service.ids_with_prefix(session, caller, team_id, prefix)


@router.get("/codemarks/{codemark_id}")
async def get_codemark(codemark_id: str, session: DbSession, caller: CurrentCaller) -> CodemarkOut:
    """Return one codemark."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return (await codemarks_out(session, [codemark]))[0]


@router.patch("/codemarks/{codemark_id}")
async def update_codemark(
    codemark_id: str, body: CodemarkPatch, session: DbSession, caller: CurrentCaller
) -> CodemarkOut:
    """Change a codemark's title, text, status (open, resolved, archived), tags, assignees or pin."""
    codemark, membership = await access_codemark(session, caller, codemark_id)
    return await service.update_codemark(session, caller, membership, codemark, body)


@router.delete("/codemarks/{codemark_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_codemark(codemark_id: str, session: DbSession, caller: CurrentCaller) -> Response:
    """Delete a codemark and its thread."""
    codemark, membership = await access_codemark(session, caller, codemark_id)
    await service.delete_codemark(session, caller, membership, codemark)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/codemarks/{codemark_id}/history")
async def codemark_history(
    codemark_id: str, session: DbSession, caller: CurrentCaller
) -> list[CodemarkVersion]:
    """Return the previous versions of a codemark's title and text, newest first."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await service.codemark_history(session, codemark)


@router.put("/codemarks/{codemark_id}/follow")
async def follow(codemark_id: str, session: DbSession, caller: CurrentCaller) -> CodemarkOut:
    """Follow a codemark: its replies come to your inbox."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await service.set_following(session, caller, codemark, True)


@router.delete("/codemarks/{codemark_id}/follow")
async def unfollow(codemark_id: str, session: DbSession, caller: CurrentCaller) -> CodemarkOut:
    """Stop following a codemark."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await service.set_following(session, caller, codemark, False)


@router.put("/codemarks/{codemark_id}/related/{other_id}")
async def relate(codemark_id: str, other_id: str, session: DbSession, caller: CurrentCaller) -> CodemarkOut:
    """Mark two codemarks of the team as related."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await service.relate(session, caller, codemark, other_id)


@router.delete("/codemarks/{codemark_id}/related/{other_id}")
async def unrelate(codemark_id: str, other_id: str, session: DbSession, caller: CurrentCaller) -> CodemarkOut:
    """Remove the relation between two codemarks."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await service.unrelate(session, codemark, other_id)


@router.put("/codemarks/{codemark_id}/reactions/{emoji}")
async def react_to_codemark(
    codemark_id: str, emoji: EmojiPath, session: DbSession, caller: CurrentCaller
) -> list[ReactionOut]:
    """Add your emoji to a codemark; returns its reactions."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await service.react(session, caller, codemark, "", emoji, True)


@router.delete("/codemarks/{codemark_id}/reactions/{emoji}")
async def unreact_to_codemark(
    codemark_id: str, emoji: EmojiPath, session: DbSession, caller: CurrentCaller
) -> list[ReactionOut]:
    """Remove your emoji from a codemark; returns its reactions."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await service.react(session, caller, codemark, "", emoji, False)


@router.post("/codemarks/{codemark_id}/replies", status_code=status.HTTP_201_CREATED)
async def add_reply(codemark_id: str, body: ReplyIn, session: DbSession, caller: CurrentCaller) -> ReplyOut:
    """Add a reply to a codemark's thread (link codemarks have none)."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await replies.add_reply(session, caller, codemark, body.text)


@router.get("/codemarks/{codemark_id}/replies")
async def list_replies(
    codemark_id: str, session: DbSession, caller: CurrentCaller, limit: Limit = 50, cursor: Cursor = None
) -> ReplyPage:
    """List a codemark's replies, oldest first; deleted ones appear as tombstones."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    items, next_cursor = await replies.list_replies(session, codemark, limit, cursor)
    return ReplyPage(items=items, next_cursor=next_cursor)


@router.patch("/replies/{reply_id}")
async def edit_reply(reply_id: str, body: ReplyIn, session: DbSession, caller: CurrentCaller) -> ReplyOut:
    """Change a reply's text (its author only); the previous text stays in its history."""
    reply, codemark, _ = await access_reply(session, caller, reply_id)
    return await replies.edit_reply(session, caller, codemark, reply, body.text)


@router.delete("/replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_reply(reply_id: str, session: DbSession, caller: CurrentCaller) -> Response:
    """Delete a reply; a tombstone stays in the thread."""
    reply, codemark, membership = await access_reply(session, caller, reply_id)
    await replies.delete_reply(session, caller, membership, codemark, reply)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/replies/{reply_id}/history")
async def reply_history(reply_id: str, session: DbSession, caller: CurrentCaller) -> list[ReplyVersion]:
    """Return the previous texts of a reply, newest first."""
    reply, _, _ = await access_reply(session, caller, reply_id)
    return await replies.reply_history(session, reply)


@router.put("/replies/{reply_id}/reactions/{emoji}")
async def react_to_reply(
    reply_id: str, emoji: EmojiPath, session: DbSession, caller: CurrentCaller
) -> list[ReactionOut]:
    """Add your emoji to a reply; returns its reactions."""
    reply, codemark, _ = await access_reply(session, caller, reply_id)
    if reply.deleted_at is not None:
        raise Conflict("The reply was deleted.")
    return await service.react(session, caller, codemark, reply.id, emoji, True)


@router.delete("/replies/{reply_id}/reactions/{emoji}")
async def unreact_to_reply(
    reply_id: str, emoji: EmojiPath, session: DbSession, caller: CurrentCaller
) -> list[ReactionOut]:
    """Remove your emoji from a reply; returns its reactions."""
    reply, codemark, _ = await access_reply(session, caller, reply_id)
    if reply.deleted_at is not None:
        raise Conflict("The reply was deleted.")
    return await service.react(session, caller, codemark, reply.id, emoji, False)


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
    out, added = await service.add_reference(session, codemark, marker_id, body)
    if added:
        response.status_code = status.HTTP_201_CREATED
    return out


@router.post("/codemarks/{codemark_id}/markers/{marker_id}/promote")
async def promote_marker(
    codemark_id: str, marker_id: str, body: BlockAt, session: DbSession, caller: CurrentCaller
) -> CodemarkOut:
    """Give a provisional marker a real reference: a commit that contains its code (409 if done already)."""
    codemark, _ = await access_codemark(session, caller, codemark_id)
    return await service.promote_marker(session, codemark, marker_id, body)
