"""A codemark's page at its permalink `/c/<id>`, and the forms on it.

The permalink answers a browser (an Accept header naming text/html first) with the page, and programs with
the codemark's JSON, exactly as `GET /api/v1/codemarks/{id}` (bearer token; 401 without one). The page and
its forms load through the access layer and change things through the codemark services, so every rule of
the API holds here; each form answers with a redirect back to the page (post/redirect/get).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Row, select

from kibitz.server.access import access_codemark, access_reply, has_role
from kibitz.server.auth.people import Person, people_by_id
from kibitz.server.auth.service import Caller
from kibitz.server.codemarks import replies, service
from kibitz.server.codemarks.models import Codemark, Marker, Reaction, Reply, ReplyEdit
from kibitz.server.codemarks.render import codemarks_out
from kibitz.server.codemarks.schemas import CodemarkOut, CodemarkPatch, MarkerOut, ReactionOut, ReplyIn
from kibitz.server.deps import BearerCredentials, DbSession, State, get_caller
from kibitz.server.errors import Conflict, ValidationFailed
from kibitz.server.events.service import head_seq
from kibitz.server.locations.service import latest_locations
from kibitz.server.teams.models import Membership, Team
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.server.web.csrf import CSRF_FIELD
from kibitz.server.web.errors import wants_json
from kibitz.server.web.kept_html import Fragment, Holes, fill, kept_code, kept_fragment, kept_markdown
from kibitz.server.web.pages import page, read_form, see_other
from kibitz.server.web.render import highlighted_code, markdown_html, reaction_buttons, render_page
from kibitz.server.web.sessions import PageCaller, SignedIn, SignInNeeded
from kibitz.validation import Emoji

router = APIRouter(include_in_schema=False)
# The permalink is part of the API too (its JSON): it stays in the OpenAPI document.
permalink_router = APIRouter(tags=["codemarks"])

# The reactions offered on every codemark and reply (any other emoji already there is shown too).
OFFERED_EMOJI = ("👍", "❤️", "🎉", "👀", "🚀", "✅")
_emoji = TypeAdapter(Emoji)


@permalink_router.get(
    "/c/{codemark_id}",
    responses={
        200: {
            "model": CodemarkOut,
            "description": "The codemark (with `Accept: application/json`); a browser gets the page",
        }
    },
)
async def permalink(
    codemark_id: str,
    request: Request,
    session: DbSession,
    state: State,
    credentials: BearerCredentials,
    caller: PageCaller,
) -> Response:
    """Show a codemark's page to a browser, or return its JSON to a program (`Accept: application/json`)."""
    if wants_json(request.headers.get("accept", "")):
        api_caller = await get_caller(request, session, credentials)
        codemark, _ = await access_codemark(session, api_caller, codemark_id)
        out = (await codemarks_out(session, [codemark]))[0]
        return Response(out.model_dump_json(), media_type="application/json", headers={"vary": "Accept"})
    if caller is None:
        raise SignInNeeded()
    codemark, membership = await access_codemark(session, caller, codemark_id)
    context = await _page_context(session, caller, codemark, membership)
    # The kept items of the thread take the session's CSRF token and the relative times of this moment.
    context["thread"] = fill(context["thread"], request.state.csrf, dt.datetime.now(dt.UTC))
    response = page(request, state, caller, "codemark.html", team_id=codemark.team_id, **context)
    response.headers["vary"] = "Accept"
    return response


@dataclass(frozen=True)
class _Edit:
    """An earlier text of a reply: its stored cell and when it was replaced."""

    text: str
    replaced_at: dt.datetime


@dataclass(frozen=True)
class _ThreadParts:
    """What a thread's items are rendered from besides the reply rows, read in one pass."""

    edited: dict[str, list[_Edit]]  # earlier texts of each edited reply, newest first
    reactions: dict[str, dict[str, list[str]]]  # reply id -> emoji -> who, oldest first


async def _thread_parts(session: UnitOfWork, codemark: Codemark) -> _ThreadParts:
    """Return the earlier texts and the reactions of every reply of a codemark (two statements)."""
    edited: dict[str, list[_Edit]] = {}
    for reply_id, text, replaced_at in await session.execute(
        select(ReplyEdit.reply_id, ReplyEdit.text, ReplyEdit.replaced_at)
        .join(Reply, Reply.id == ReplyEdit.reply_id)
        .where(Reply.codemark_id == codemark.id)
        .order_by(ReplyEdit.id.desc())
    ):
        edited.setdefault(reply_id, []).append(_Edit(text, replaced_at))
    reactions: dict[str, dict[str, list[str]]] = {}
    for reply_id, emoji, user_id in await session.execute(
        select(Reaction.reply_id, Reaction.emoji, Reaction.user_id)
        .where(Reaction.codemark_id == codemark.id, Reaction.reply_id != "")
        .order_by(Reaction.id)
    ):
        reactions.setdefault(reply_id, {}).setdefault(emoji, []).append(user_id)
    return _ThreadParts(edited, reactions)


async def _thread(
    session: UnitOfWork, codemark: Codemark, me: str, people: dict[str, Person]
) -> list[Fragment]:
    """Return the thread's items, oldest first, each kept (`kept_fragment`) until something in it changes.

    An item is kept per reply and per what differs for the viewer (whether it is theirs, which emoji
    are theirs); its version names everything else it shows: the stored text and earlier texts, when it
    was written, its author's name, its reactions and who made them. Texts are opened only to render an
    item that is not kept.
    """
    # Only the columns an item is made from: loading 200 whole rows as objects cost more than reading them.
    rows = list(
        await session.execute(
            select(Reply.id, Reply.text, Reply.author_id, Reply.created_at, Reply.deleted_at)
            .where(Reply.codemark_id == codemark.id)
            .order_by(Reply.created_at, Reply.id)
        )
    )
    if not rows:
        return []
    parts = await _thread_parts(session, codemark)
    missing = {u for r in rows for u in (r.author_id, *_users(parts.reactions.get(r.id, {})))} - set(people)
    if missing:
        people.update(await people_by_id(session, missing))
    names = {pid: person.name for pid, person in people.items()}
    return [await _reply_item(session, row, parts, me, names) for row in rows]


def _users(reactions: dict[str, list[str]]) -> list[str]:
    return [u for users in reactions.values() for u in users]


_ReplyRow = Row[str, str, str, dt.datetime, dt.datetime | None]


async def _reply_item(
    session: UnitOfWork, row: _ReplyRow, parts: _ThreadParts, me: str, names: dict[str, str]
) -> Fragment:
    """Return one reply's item of the thread (see `_thread`)."""
    deleted = row.deleted_at is not None
    edits = [] if deleted else parts.edited.get(row.id, [])
    used = {} if deleted else parts.reactions.get(row.id, {})
    mine = row.author_id == me
    my_emoji = tuple(e for e, users in used.items() if me in users)
    author_name = names.get(row.author_id, "someone")
    inputs = [
        row.id,
        row.text,
        "deleted" if deleted else "",
        row.created_at.isoformat(),
        author_name,
        # Each list's length first, so that no two different threads of inputs read the same.
        str(len(edits)),
        *(part for e in edits for part in (e.text, e.replaced_at.isoformat())),
        str(len(used)),
        *(
            part
            for emoji, users in used.items()
            for part in (emoji, str(len(users)), *(f"{u}={names.get(u, 'someone')}" for u in users))
        ),
    ]
    stored = [row.text, *(e.text for e in edits)]

    async def render(holes: Holes) -> str:
        if deleted:
            return render_page("_reply.html", reply_id=row.id, deleted=True)
        text = await session.sealer.open(row.text, Reply.text, row=row.id)
        history = [
            (
                holes.time(e.replaced_at),
                markdown_html(await session.sealer.open(e.text, ReplyEdit.text, row=row.id)),
            )
            for e in edits
        ]
        reactions = [ReactionOut.model_construct(emoji=e, count=len(us), users=us) for e, us in used.items()]
        return render_page(
            "_reply.html",
            reply_id=row.id,
            deleted=False,
            author_name=author_name,
            created=holes.time(row.created_at),
            edited=bool(edits),
            html=await kept_markdown(session.sealer, "reply", row.id, row.text, text),
            history=history,
            reactions=reaction_buttons(
                f"/r/{row.id}/react",
                _reaction_rows(reactions, me, names),
                CSRF_FIELD,
                holes.csrf,
                "Reactions to this reply",
            ),
            mine=mine,
            text=text,
            csrf=holes.csrf,
            csrf_field=CSRF_FIELD,
        )

    return await kept_fragment(session.sealer, ("reply", row.id, mine, my_emoji), inputs, stored, render)


async def _code_blocks(session: UnitOfWork, markers: list[MarkerOut]) -> dict[str, Markup]:
    """Return each marker's code, highlighted (markers without code are left out)."""
    with_code = [m for m in markers if not m.code_free]
    if not with_code:
        return {}
    stored = {
        marker_id: (code, path)
        for marker_id, code, path in await session.execute(
            select(Marker.id, Marker.code, Marker.path).where(Marker.id.in_([m.id for m in with_code]))
        )
    }
    blocks = {}
    for m in with_code:
        cells = stored.get(m.id)
        if cells is None:  # deleted while the page was read
            blocks[m.id] = highlighted_code(m.code, m.path, m.start_line)
        else:
            blocks[m.id] = await kept_code(session.sealer, m.id, cells, m.code, m.path, m.start_line)
    return blocks


def _reaction_rows(reactions: list[ReactionOut], me: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Return the reaction buttons of an object: the offered emoji and any other used, with who reacted."""
    used = {r.emoji: r for r in reactions}
    rows = []
    for emoji in dict.fromkeys([*OFFERED_EMOJI, *used]):
        reaction = used.get(emoji)
        users = reaction.users if reaction is not None else []
        rows.append(
            {
                "emoji": emoji,
                "count": len(users),
                "mine": me in users,
                "who": ", ".join(names.get(u, "someone") for u in users),
            }
        )
    return rows


async def _page_context(
    session: UnitOfWork, caller: Caller, codemark: Codemark, membership: Membership
) -> dict[str, Any]:
    out = (await codemarks_out(session, [codemark]))[0]
    history = await service.codemark_history(session, codemark)
    team = await session.get(Team, codemark.team_id)
    where_now = await latest_locations(session, caller, codemark.team_id, [m.id for m in out.markers])
    people = await people_by_id(session, {u for r in out.reactions for u in r.users} | set(out.followers))
    me = caller.user.id
    thread = await _thread(session, codemark, me, people)
    names = {pid: person.name for pid, person in people.items()}
    assigned = me in {a.id for a in out.assignees}
    is_admin = has_role(membership, "admin")
    code = await _code_blocks(session, out.markers)
    markers = [
        {"marker": marker, "code": code.get(marker.id), "now": where_now.get(marker.id)}
        for marker in out.markers
    ]
    return {
        "cm": out,
        "markers": markers,
        "code_free_team": bool(team and team.code_free),
        "text_html": await kept_markdown(session.sealer, "codemark", codemark.id, codemark.text, out.text),
        "thread": thread,
        "history": history,
        "reactions": _reaction_rows(out.reactions, me, names),
        "followers": [names.get(f, "someone") for f in out.followers],
        "following": me in out.followers,
        "can_edit": out.author.id == me or is_admin,
        "can_set_status": out.author.id == me or is_admin or assigned,
        "can_reply": out.type != "link",
        "me": me,
        "head": await head_seq(session, codemark.team_id),
    }


def _back(codemark_id: str, anchor: str = "") -> Response:
    return see_other(f"/c/{codemark_id}{'#' + anchor if anchor else ''}")


def _valid_emoji(value: str) -> str:
    try:
        return _emoji.validate_python(value)
    except ValidationError:
        raise ValidationFailed("Choose one emoji.") from None


def _reaction_asked(form: dict[str, str]) -> tuple[str, bool]:
    """Return the emoji a reaction form asks for and whether to add it (False: take it back).

    The page's buttons send `add=<emoji>` or `remove=<emoji>`; `emoji` with `action=add|remove` is
    understood too (a form of an older page, a script).
    """
    if form.get("remove"):
        return _valid_emoji(form["remove"]), False
    if form.get("add"):
        return _valid_emoji(form["add"]), True
    return _valid_emoji(form.get("emoji", "")), form.get("action") != "remove"


def _checked(model: type[Any], fields: dict[str, Any]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ValidationFailed(f"The form is not valid: {error.get('msg', 'a field is wrong')}.") from None


@router.post("/c/{codemark_id}/reply")
async def reply(
    codemark_id: str, request: Request, session: DbSession, state: State, caller: SignedIn
) -> Response:
    """Add a reply to the thread."""
    form = await read_form(request, state)
    codemark, _ = await access_codemark(session, caller, codemark_id)
    body: ReplyIn = _checked(ReplyIn, {"text": form.get("text", "")})
    out = await replies.add_reply(session, caller, codemark, body.text)
    return _back(codemark.id, f"r-{out.id}")


@router.post("/c/{codemark_id}/edit")
async def edit(
    codemark_id: str, request: Request, session: DbSession, state: State, caller: SignedIn
) -> Response:
    """Change the codemark's title and text (its author, or an admin)."""
    form = await read_form(request, state)
    codemark, membership = await access_codemark(session, caller, codemark_id)
    fields = {"title": form.get("title", ""), "text": form.get("text", "")}
    patch: CodemarkPatch = _checked(CodemarkPatch, fields)
    await service.update_codemark(session, caller, membership, codemark, patch)
    return _back(codemark.id)


@router.post("/c/{codemark_id}/status")
async def set_status(
    codemark_id: str, request: Request, session: DbSession, state: State, caller: SignedIn
) -> Response:
    """Resolve or reopen the codemark (its author, an assignee, or an admin)."""
    form = await read_form(request, state)
    codemark, membership = await access_codemark(session, caller, codemark_id)
    patch: CodemarkPatch = _checked(CodemarkPatch, {"status": form.get("status", "")})
    await service.update_codemark(session, caller, membership, codemark, patch)
    return _back(codemark.id)


@router.post("/c/{codemark_id}/react")
async def react(
    codemark_id: str, request: Request, session: DbSession, state: State, caller: SignedIn
) -> Response:
    """Add or take back the caller's emoji on the codemark."""
    form = await read_form(request, state)
    codemark, _ = await access_codemark(session, caller, codemark_id)
    emoji, add = _reaction_asked(form)
    await service.react(session, caller, codemark, "", emoji, add)
    return _back(codemark.id, "reactions")


@router.post("/c/{codemark_id}/follow")
async def follow(
    codemark_id: str, request: Request, session: DbSession, state: State, caller: SignedIn
) -> Response:
    """Follow the thread (its replies come to the inbox), or stop following it."""
    form = await read_form(request, state)
    codemark, _ = await access_codemark(session, caller, codemark_id)
    await service.set_following(session, caller, codemark, form.get("action") != "unfollow")
    return _back(codemark.id)


@router.post("/r/{reply_id}/edit")
async def edit_reply(
    reply_id: str, request: Request, session: DbSession, state: State, caller: SignedIn
) -> Response:
    """Change one's own reply."""
    form = await read_form(request, state)
    found, codemark, _ = await access_reply(session, caller, reply_id)
    body: ReplyIn = _checked(ReplyIn, {"text": form.get("text", "")})
    await replies.edit_reply(session, caller, codemark, found, body.text)
    return _back(codemark.id, f"r-{found.id}")


@router.post("/r/{reply_id}/react")
async def react_to_reply(
    reply_id: str, request: Request, session: DbSession, state: State, caller: SignedIn
) -> Response:
    """Add or take back the caller's emoji on a reply."""
    form = await read_form(request, state)
    found, codemark, _ = await access_reply(session, caller, reply_id)
    if found.deleted_at is not None:
        raise Conflict("The reply was deleted.")
    emoji, add = _reaction_asked(form)
    await service.react(session, caller, codemark, found.id, emoji, add)
    return _back(codemark.id, f"r-{found.id}")
