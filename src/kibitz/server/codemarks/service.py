"""Codemarks: create, read, list with filters, change, delete; reactions, follows, relations, references.

Only this folder reads or writes the content columns (titles, texts, paths, code, context); they are sealed
(content.py) and listings by file use the path's blind index. Every change records an event in the same
transaction, naming the author whose writing its payload carries.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from kibitz.ids import is_id, new_id
from kibitz.mentions import find_mentions
from kibitz.server.access import require_author_or_role
from kibitz.server.auth.people import members_by_mention, people_by_id
from kibitz.server.auth.service import Caller, user_ref
from kibitz.server.codemarks import content
from kibitz.server.codemarks.content import MarkerContent
from kibitz.server.codemarks.models import (
    Codemark,
    CodemarkAssignee,
    CodemarkEdit,
    CodemarkTag,
    Follower,
    Marker,
    MarkerReference,
    Mention,
    Reaction,
    Relation,
    Reply,
)
from kibitz.server.codemarks.render import codemarks_out, reactions_of
from kibitz.server.codemarks.schemas import (
    BlockAt,
    CodemarkIn,
    CodemarkOut,
    CodemarkPatch,
    CodemarkVersion,
    IdMatches,
    MarkerIn,
    ReactionOut,
    ReferenceIn,
)
from kibitz.server.crypto.blind_index import normalise_exact
from kibitz.server.crypto.sealer import team_owner
from kibitz.server.db import UTCDateTime, utcnow
from kibitz.server.errors import Conflict, NotFound, ValidationFailed
from kibitz.server.events.models import Event
from kibitz.server.events.service import record_event, redact_events
from kibitz.server.inbox.service import notify
from kibitz.server.pagination import decode_cursor
from kibitz.server.repos.models import Repo
from kibitz.server.search.index import index_text
from kibitz.server.teams.models import Membership, Team
from kibitz.server.unit_of_work import UnitOfWork

MAX_REFERENCES = 20
MAX_RELATED = 50
# Blind-index purposes (team scope): listings by file, and the fingerprint a code-free team keeps of code.
PATH_PURPOSE = "marker.path"
CODE_PURPOSE = "marker.code"
TAG_PURPOSE = "codemark.tag"


@dataclass(frozen=True)
class CodemarkFilter:
    """Filters of a codemark listing; None means 'any'."""

    repo_id: str | None = None
    path: str | None = None
    status: str | None = None
    type: str | None = None
    author_id: str | None = None
    assignee_id: str | None = None
    tag: str | None = None
    pinned: bool | None = None
    # The blind indexes of `path` and `tag` (`with_path_index`): the queries compare them, never the text.
    path_index: str | None = None
    tag_index: str | None = None


async def path_index(session: UnitOfWork, team_id: str, path: str) -> str:
    """Return the blind index of a marker path in a team (what listings by file look up)."""
    return await session.sealer.index(team_id, PATH_PURPOSE, normalise_exact(path))


async def tag_index(session: UnitOfWork, team_id: str, tag: str) -> str:
    """Return the blind index of a tag in a team (what listings by tag look up; it keeps tags unique)."""
    return await session.sealer.index(team_id, TAG_PURPOSE, normalise_exact(tag))


async def tag_row(session: UnitOfWork, codemark_id: str, team_id: str, tag: str) -> CodemarkTag:
    """Return a tag of a codemark as stored: its blind index, and the tag sealed with the team's key."""
    index = await tag_index(session, team_id, tag)
    sealed = await session.sealer.seal(
        team_owner(team_id), tag, CodemarkTag.tag, row=f"{codemark_id}/{index}"
    )
    return CodemarkTag(codemark_id=codemark_id, tag_index=index, tag=sealed, team_id=team_id)


async def with_path_index(session: UnitOfWork, team_id: str, flt: CodemarkFilter) -> CodemarkFilter:
    """Return the filter with the blind indexes of its path and tag filled in (the queries need them)."""
    return replace(
        flt,
        path_index=None if flt.path is None else await path_index(session, team_id, flt.path),
        tag_index=None if flt.tag is None else await tag_index(session, team_id, flt.tag),
    )


async def _distinct_tags(session: UnitOfWork, team_id: str, tags: Sequence[str]) -> list[str]:
    """Return the tags without repeats, as their blind indexes tell (composed and decomposed are one)."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(await tag_index(session, team_id, tag), tag)
    return list(seen.values())


def _path_index_of(flt: CodemarkFilter) -> str:
    if flt.path_index is None:
        raise ValueError("a filter by path needs its blind index (with_path_index)")
    return flt.path_index


async def check_members(session: UnitOfWork, team_id: str, user_ids: Sequence[str], field: str) -> list[str]:
    """Return the distinct ids, all of which must be members of the team (else 422 listing the others)."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    found = set(
        await session.scalars(
            select(Membership.user_id).where(Membership.team_id == team_id, Membership.user_id.in_(wanted))
        )
    )
    unknown = [uid for uid in wanted if uid not in found]
    if unknown:
        raise ValidationFailed(
            f"The {field} must be members of the team.", [{"loc": ["body", field], "unknown": unknown}]
        )
    return wanted


async def resolve_mentions(session: UnitOfWork, team_id: str, *texts: str) -> list[str]:
    """Return the ids of the members mentioned (`@handle`, `@email`); unknown names are a 422 listing them."""
    names: dict[str, None] = {}
    for text in texts:
        names.update(dict.fromkeys(find_mentions(text)))
    if not names:
        return []
    by_name = await members_by_mention(session, team_id, list(names))
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValidationFailed(
            "Mentions must name members of the team: " + ", ".join("@" + n for n in unknown) + ".",
            [{"loc": ["body", "text"], "unknown_mentions": unknown}],
        )
    return list(dict.fromkeys(by_name[name] for name in names))


async def _check_repos(session: UnitOfWork, team_id: str, repo_ids: Sequence[str]) -> None:
    wanted = set(repo_ids)
    found = set(await session.scalars(select(Repo.id).where(Repo.team_id == team_id, Repo.id.in_(wanted))))
    unknown = sorted(wanted - found)
    if unknown:
        raise ValidationFailed(
            "Markers must name repos of the team.",
            [{"loc": ["body", "markers", "repo_id"], "unknown": unknown}],
        )


# Built once per dialect (a statement with a VALUES list per call was compiled again at every reply); one
# row per execution, as a follow is nearly always one person's.
_FOLLOW = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(Follower.__table__)
    .values(codemark_id=bindparam("codemark_id"), user_id=bindparam("user_id"))
    .on_conflict_do_nothing(index_elements=["codemark_id", "user_id"])
    .returning(Follower.__table__.c.user_id)
    for dialect in (postgresql, sqlite)
}


async def follow(session: UnitOfWork, codemark_id: str, user_ids: Sequence[str]) -> list[str]:
    """Make people follow a codemark; return those who did not already (concurrent requests may race)."""
    connection = await session.flushed_connection()
    statement = _FOLLOW[connection.dialect.name]
    added = []
    for user_id in dict.fromkeys(user_ids):
        found = await connection.scalar(statement, {"codemark_id": codemark_id, "user_id": user_id})
        if found is not None:
            added.append(found)
    return added


async def _set_mentions(
    session: UnitOfWork, codemark: Codemark, reply_id: str, user_ids: Sequence[str]
) -> None:
    await session.execute(
        delete(Mention).where(Mention.codemark_id == codemark.id, Mention.reply_id == reply_id)
    )
    for user_id in user_ids:
        session.add(
            Mention(team_id=codemark.team_id, codemark_id=codemark.id, reply_id=reply_id, user_id=user_id)
        )


async def publish_codemark(
    session: UnitOfWork,
    codemark: Codemark,
    type: str,
    *,
    actor_id: str | None = None,
    changes: Sequence[str] = (),
) -> CodemarkOut:
    """Record a codemark event with the codemark as the API returns it, and return that.

    `actor_id` and `changes` say who changed it and how (`resolved`, `assigned`, …; see record_event).
    """
    await session.flush()
    out = (await codemarks_out(session, [codemark]))[0]
    await record_codemark_event(session, codemark, type, out, actor_id=actor_id, changes=changes)
    return out


async def record_codemark_event(
    session: UnitOfWork,
    codemark: Codemark,
    type: str,
    answer: CodemarkOut | dict[str, Any],
    *,
    actor_id: str | None = None,
    changes: Sequence[str] = (),
) -> None:
    """Record a codemark event carrying `answer`: the codemark as the API returns it."""
    await record_event(
        session,
        codemark.team_id,
        type,
        answer,
        visible_to=codemark.private_to,
        author_id=codemark.author_id,
        codemark_id=codemark.id,
        subject_id=codemark.id,
        actor_id=actor_id,
        changes=changes,
    )


async def create_codemark(session: UnitOfWork, caller: Caller, team_id: str, data: CodemarkIn) -> CodemarkOut:
    """Create a codemark with its markers, tags, assignees, mentions and related codemarks."""
    await _check_repos(session, team_id, [m.repo_id for m in data.markers])
    assignees = await check_members(session, team_id, data.assignees, "assignees")
    mentioned = await resolve_mentions(session, team_id, data.title, data.text)
    code_free = bool(await session.scalar(select(Team.code_free).where(Team.id == team_id)))
    now = utcnow()
    codemark_id = new_id()
    title, text = await content.seal_texts(
        session, Codemark, codemark_id, team_id, caller.user.id, data.title, data.text
    )
    codemark = Codemark(
        id=codemark_id,
        team_id=team_id,
        type=data.type,
        status="open",
        title=title,
        text=text,
        author_id=caller.user.id,
        pinned=False,
        created_at=now,
        updated_at=now,
    )
    session.add(codemark)
    await session.flush()
    for position, m in enumerate(data.markers):
        marker = await _marker_row(session, codemark, position, m, code_free)
        session.add(marker)
        for ref in _distinct_references(m.commit, m.references):
            session.add(await _reference_row(session, marker.id, team_id, ref))
    for tag in await _distinct_tags(session, team_id, data.tags):
        session.add(await tag_row(session, codemark.id, team_id, tag))
    for user_id in assignees:
        session.add(CodemarkAssignee(codemark_id=codemark.id, user_id=user_id))
    await _set_mentions(session, codemark, "", mentioned)
    related = [
        other for other in dict.fromkeys(data.related) if await _relate(session, caller, codemark, other)
    ]
    await follow(session, codemark.id, [caller.user.id, *mentioned, *assignees])
    await notify(session, codemark, mentioned, "mention", caller.user.id)
    await notify(session, codemark, assignees, "assignment", caller.user.id)
    await index_text(
        session, team_id, codemark.id, codemark.created_at, "", data.title, data.text, fresh=True
    )
    out = await publish_codemark(session, codemark, "codemark.created", actor_id=caller.user.id)
    await _announce_related(session, related)
    return out


async def _announce_related(session: UnitOfWork, codemark_ids: Sequence[str]) -> None:
    """Publish the codemarks whose `related` lists changed as a side effect."""
    for other_id in codemark_ids:
        other = await session.get(Codemark, other_id)
        if other is not None:
            await publish_codemark(session, other, "codemark.updated", changes=("related",))


def _distinct_references(canonical: str, references: Sequence[ReferenceIn]) -> list[ReferenceIn]:
    seen = {canonical}
    distinct = []
    for ref in references:
        if ref.commit not in seen:
            seen.add(ref.commit)
            distinct.append(ref)
    return distinct


async def _marker_row(
    session: UnitOfWork, codemark: Codemark, position: int, m: MarkerIn, code_free: bool
) -> Marker:
    """Return a new marker row with its content sealed (and, in a code-free team, no code at all)."""
    marker_id = new_id()
    fingerprint = ""
    if code_free:
        # The code is validated like any other but only its keyed fingerprint stays: the client that
        # needs the code rebuilds it from git at the marker's commit.
        fingerprint = await session.sealer.index(codemark.team_id, CODE_PURPOSE, m.code)
        plain = MarkerContent(m.path, "", "", "")
    else:
        plain = MarkerContent(m.path, m.code, m.context_before, m.context_after)
    sealed = await content.seal_marker(session, marker_id, codemark.team_id, codemark.author_id, plain)
    return Marker(
        id=marker_id,
        codemark_id=codemark.id,
        team_id=codemark.team_id,
        repo_id=m.repo_id,
        position=position,
        path=sealed.path,
        path_index=await path_index(session, codemark.team_id, m.path),
        commit=m.commit,
        start_line=m.start_line,
        end_line=m.end_line,
        code=sealed.code,
        code_fingerprint=fingerprint,
        context_before=sealed.context_before,
        context_after=sealed.context_after,
        provisional=m.provisional,
    )


async def _reference_row(
    session: UnitOfWork, marker_id: str, team_id: str, ref: ReferenceIn
) -> MarkerReference:
    return MarkerReference(
        marker_id=marker_id,
        team_id=team_id,
        kind=ref.kind,
        commit=ref.commit,
        path=await content.seal_reference_path(session, marker_id, team_id, ref.path),
        start_line=ref.start_line,
        end_line=ref.end_line,
        created_at=utcnow(),
    )


# The listing filters that are compared in SQL by their blind index, never by their text.
_INDEXED_FILTERS = frozenset({"path", "tag"})


def filter_params(team_id: str, flt: CodemarkFilter) -> dict[str, Any]:
    """Return the values of a filter's bound parameters by name: the team's id and each filter that is set.

    `filter_conditions` names each parameter after its filter's field, so a statement built once for a
    filter's shape (which filters are set: the keys here) serves every filter of that shape.
    """
    if flt.path is not None:
        _path_index_of(flt)
    if flt.tag is not None and flt.tag_index is None:
        raise ValueError("a filter by tag needs its blind index (with_path_index)")
    params: dict[str, Any] = {
        f.name: value
        for f in fields(flt)
        if f.name not in _INDEXED_FILTERS and (value := getattr(flt, f.name)) is not None
    }
    params["team_id"] = team_id
    return params


def filter_conditions(shape: Collection[str]) -> list[ColumnElement[bool]]:
    """Return the conditions on one codemark row of the filters named in `shape` (`filter_params`' keys).

    Each compares with a bound parameter named after its field (probes, so that a scan can stop early).
    """
    conditions: list[ColumnElement[bool]] = []
    for name, column in (
        ("status", Codemark.status),
        ("type", Codemark.type),
        ("author_id", Codemark.author_id),
        ("pinned", Codemark.pinned),
    ):
        if name in shape:
            conditions.append(column == bindparam(name))
    if "path_index" in shape or "repo_id" in shape:
        conditions.append(exists().where(Marker.codemark_id == Codemark.id, *_marker_conditions(shape)))
    if "tag_index" in shape:
        conditions.append(
            exists().where(
                CodemarkTag.codemark_id == Codemark.id, CodemarkTag.tag_index == bindparam("tag_index")
            )
        )
    if "assignee_id" in shape:
        conditions.append(
            exists().where(
                CodemarkAssignee.codemark_id == Codemark.id,
                CodemarkAssignee.user_id == bindparam("assignee_id"),
            )
        )
    return conditions


def _marker_conditions(shape: Collection[str]) -> list[ColumnElement[bool]]:
    conditions = [Marker.team_id == bindparam("team_id")]
    if "path_index" in shape:
        conditions.append(Marker.path_index == bindparam("path_index"))
    if "repo_id" in shape:
        conditions.append(Marker.repo_id == bindparam("repo_id"))
    return conditions


# A page's rows: id, revision (which kept answer is current) and creation time (the cursor).
PageRows = Select[str, int, dt.datetime]


def page_query(
    team_id: str, user_id: str, flt: CodemarkFilter, limit: int, cursor: str | None
) -> tuple[PageRows, dict[str, Any]]:
    """Return the statement of one page (and one row more) of the codemarks a member sees, and its values.

    Newest first. The statement depends only on the filter's shape and on whether a cursor is given, and is
    built once for each (building it cost more than running it); the values are bound when it runs.
    """
    params = filter_params(team_id, flt)
    shape = frozenset(params)
    params["user_id"] = user_id
    params["page_size"] = limit + 1
    if cursor is not None:
        params["cursor_at"], params["cursor_id"] = decode_cursor(cursor)
    return _page_statement(shape, cursor is not None), params


@functools.lru_cache(maxsize=1024)
def _page_statement(shape: frozenset[str], after_cursor: bool) -> PageRows:
    query = select(Codemark.id, Codemark.revision, Codemark.created_at).where(
        Codemark.team_id == bindparam("team_id"), Codemark.visible_to(bindparam("user_id"))
    )
    if "path_index" in shape:
        # Start from the file's markers (a few rows by index) rather than probe the whole team's codemarks:
        # this is the listing every editor makes when it opens a file.
        on_path = select(Marker.codemark_id).where(*_marker_conditions(shape)).distinct().subquery()
        query = query.join(on_path, on_path.c.codemark_id == Codemark.id)
        shape = shape - {"path_index", "repo_id"}
    query = query.where(*filter_conditions(shape))
    if after_cursor:
        when, last = bindparam("cursor_at", type_=UTCDateTime()), bindparam("cursor_id", type_=String())
        same_time_older = and_(Codemark.created_at == when, Codemark.id < last)
        query = query.where(or_(Codemark.created_at < when, same_time_older))
    return query.order_by(Codemark.created_at.desc(), Codemark.id.desc()).limit(
        bindparam("page_size", type_=Integer())
    )


async def update_codemark(
    session: UnitOfWork, caller: Caller, membership: Membership, codemark: Codemark, patch: CodemarkPatch
) -> CodemarkOut:
    """Change a codemark's title, text, status, tags, assignees or pin (its author or an admin).

    An assignee may also resolve or reopen it, and change nothing else: the work was handed to them.
    """
    if not await _assignee_changing_status(session, caller, codemark, patch):
        require_author_or_role(membership, codemark.author_id, caller)
    old_title, old_text = await content.open_texts(
        session, Codemark, codemark.id, codemark.title, codemark.text
    )
    title = old_title if patch.title is None else patch.title
    text = old_text if patch.text is None else patch.text
    if not text.strip() and not title.strip():
        raise ValidationFailed("A codemark needs a text or a title.", [{"loc": ["body", "text"]}])
    new_assignees: list[str] = []
    changes: list[str] = []
    if patch.assignees is not None:
        assignees = await check_members(session, codemark.team_id, patch.assignees, "assignees")
        before = set(
            await session.scalars(
                select(CodemarkAssignee.user_id).where(CodemarkAssignee.codemark_id == codemark.id)
            )
        )
        new_assignees = [a for a in assignees if a not in before]
        if new_assignees:
            changes.append("assigned")
        if before - set(assignees):
            changes.append("unassigned")
        await session.execute(delete(CodemarkAssignee).where(CodemarkAssignee.codemark_id == codemark.id))
        for user_id in assignees:
            session.add(CodemarkAssignee(codemark_id=codemark.id, user_id=user_id))
    if (title, text) != (old_title, old_text):
        changes.append("edited")
        mentioned = await resolve_mentions(session, codemark.team_id, title, text)
        before_mentions = set(
            await session.scalars(
                select(Mention.user_id).where(Mention.codemark_id == codemark.id, Mention.reply_id == "")
            )
        )
        # Whoever edits, the versions are the codemark author's writing and sealed with their key.
        kept_title, kept_text = await content.seal_texts(
            session, CodemarkEdit, codemark.id, codemark.team_id, codemark.author_id, old_title, old_text
        )
        session.add(
            CodemarkEdit(
                codemark_id=codemark.id,
                team_id=codemark.team_id,
                editor_id=caller.user.id,
                title=kept_title,
                text=kept_text,
                replaced_at=utcnow(),
            )
        )
        codemark.title, codemark.text = await content.seal_texts(
            session, Codemark, codemark.id, codemark.team_id, codemark.author_id, title, text
        )
        await _set_mentions(session, codemark, "", mentioned)
        newly = [m for m in mentioned if m not in before_mentions]
        await follow(session, codemark.id, newly)
        await notify(session, codemark, newly, "mention", caller.user.id)
        await index_text(session, codemark.team_id, codemark.id, codemark.created_at, "", title, text)
    if patch.tags is not None:
        changes.append("tagged")
        await session.execute(delete(CodemarkTag).where(CodemarkTag.codemark_id == codemark.id))
        for tag in await _distinct_tags(session, codemark.team_id, patch.tags):
            session.add(await tag_row(session, codemark.id, codemark.team_id, tag))
    if patch.status is not None and patch.status != codemark.status:
        changes.append(_STATUS_CHANGES[patch.status])
        codemark.status = patch.status
    if patch.pinned is not None and patch.pinned != codemark.pinned:
        changes.append("pinned" if patch.pinned else "unpinned")
        codemark.pinned = patch.pinned
    await follow(session, codemark.id, new_assignees)
    await notify(session, codemark, new_assignees, "assignment", caller.user.id)
    codemark.updated_at = utcnow()
    return await publish_codemark(
        session, codemark, "codemark.updated", actor_id=caller.user.id, changes=changes
    )


# What a new status is called as a change.
_STATUS_CHANGES = {"resolved": "resolved", "open": "reopened", "archived": "archived"}


async def _assignee_changing_status(
    session: UnitOfWork, caller: Caller, codemark: Codemark, patch: CodemarkPatch
) -> bool:
    """Tell whether the change only resolves or reopens the codemark, and the caller is an assignee."""
    if patch.model_fields_set != {"status"} or patch.status not in ("open", "resolved"):
        return False
    assigned = await session.scalar(
        select(CodemarkAssignee.user_id).where(
            CodemarkAssignee.codemark_id == codemark.id, CodemarkAssignee.user_id == caller.user.id
        )
    )
    return assigned is not None


MAX_ID_MATCHES = 10


async def ids_with_prefix(session: UnitOfWork, caller: Caller, team_id: str, prefix: str) -> IdMatches:
    """Return the ids of the team's codemarks and replies the caller may see that begin with ``prefix``."""
    # Ids are lowercase base32, so the prefix holds no LIKE wildcard; ids compare byte for byte.
    pattern = f"{prefix}%"
    codemarks = await session.scalars(
        select(Codemark.id)
        .where(Codemark.team_id == team_id, Codemark.visible_to(caller.user.id), Codemark.id.like(pattern))
        .order_by(Codemark.id)
        .limit(MAX_ID_MATCHES)
    )
    replies = await session.scalars(
        select(Reply.id)
        .join(Codemark, Codemark.id == Reply.codemark_id)
        .where(Reply.team_id == team_id, Codemark.visible_to(caller.user.id), Reply.id.like(pattern))
        .order_by(Reply.id)
        .limit(MAX_ID_MATCHES)
    )
    return IdMatches(codemarks=list(codemarks), replies=list(replies))


async def codemark_history(session: UnitOfWork, codemark: Codemark) -> list[CodemarkVersion]:
    """Return the previous versions of a codemark's title and text, newest first."""
    edits = list(
        await session.scalars(
            select(CodemarkEdit)
            .where(CodemarkEdit.codemark_id == codemark.id)
            .order_by(CodemarkEdit.id.desc())
        )
    )
    editors = await people_by_id(session, [edit.editor_id for edit in edits])
    versions = []
    for edit in edits:
        title, text = await content.open_texts(session, CodemarkEdit, codemark.id, edit.title, edit.text)
        versions.append(
            CodemarkVersion(
                title=title, text=text, editor=user_ref(editors[edit.editor_id]), replaced_at=edit.replaced_at
            )
        )
    return versions


async def delete_codemark(
    session: UnitOfWork, caller: Caller, membership: Membership, codemark: Codemark
) -> None:
    """Delete a codemark with its markers and thread (its author or an admin)."""
    require_author_or_role(membership, codemark.author_id, caller)
    data = {"id": codemark.id, "team_id": codemark.team_id}
    related = [
        first if second == codemark.id else second
        for first, second in await session.execute(
            select(Relation.first_id, Relation.second_id).where(
                or_(Relation.first_id == codemark.id, Relation.second_id == codemark.id)
            )
        )
    ]
    # Markers, references, locations, tags, assignees, replies, reactions and index rows go by ON DELETE
    # CASCADE (SQLite has foreign keys switched on for every connection, see db.make_engine).
    await session.execute(delete(Codemark).where(Codemark.id == codemark.id))
    # What the log carried of it (its text, code, replies, reactions) goes with it; the seqs stay.
    await redact_events(session, Event.codemark_id == codemark.id)
    await record_event(
        session,
        codemark.team_id,
        "codemark.deleted",
        data,
        visible_to=codemark.private_to,
        codemark_id=codemark.id,
        actor_id=caller.user.id,
    )
    await _announce_related(session, related)


async def _relate(session: UnitOfWork, caller: Caller, codemark: Codemark, other_id: str) -> bool:
    if other_id == codemark.id:
        raise ValidationFailed("A codemark cannot be related to itself.", [{"loc": ["related"]}])
    other = await session.get(Codemark, other_id) if is_id(other_id) else None
    if other is None or other.team_id != codemark.team_id or not other.visible_to(caller.user.id):
        raise ValidationFailed(
            "Related codemarks must be codemarks of the team.", [{"loc": ["related"], "unknown": [other_id]}]
        )
    first, second = sorted((codemark.id, other.id))
    if await session.get(Relation, (first, second)) is not None:
        return False
    count = await session.scalar(
        select(func.count())
        .select_from(Relation)
        .where(or_(Relation.first_id == codemark.id, Relation.second_id == codemark.id))
    )
    if int(count or 0) >= MAX_RELATED:
        raise Conflict(f"A codemark has at most {MAX_RELATED} related codemarks.")
    session.add(Relation(first_id=first, second_id=second, team_id=codemark.team_id))
    await session.flush()
    return True


async def relate(session: UnitOfWork, caller: Caller, codemark: Codemark, other_id: str) -> CodemarkOut:
    """Relate two codemarks of the team (both directions); any member may."""
    if await _relate(session, caller, codemark, other_id):
        other = await session.get(Codemark, other_id)
        assert other is not None
        await publish_codemark(
            session, other, "codemark.updated", actor_id=caller.user.id, changes=("related",)
        )
    return await publish_codemark(
        session, codemark, "codemark.updated", actor_id=caller.user.id, changes=("related",)
    )


async def unrelate(session: UnitOfWork, codemark: Codemark, other_id: str) -> CodemarkOut:
    """Remove the relation between two codemarks, if there is one."""
    first, second = sorted((codemark.id, other_id))
    await session.execute(delete(Relation).where(Relation.first_id == first, Relation.second_id == second))
    other = await session.get(Codemark, other_id) if is_id(other_id) else None
    if other is not None and other.team_id == codemark.team_id:
        await publish_codemark(session, other, "codemark.updated", changes=("unrelated",))
    return await publish_codemark(session, codemark, "codemark.updated", changes=("unrelated",))


async def set_following(
    session: UnitOfWork, caller: Caller, codemark: Codemark, following: bool
) -> CodemarkOut:
    """Follow or unfollow a codemark's thread."""
    if following:
        await follow(session, codemark.id, [caller.user.id])
    else:
        await session.execute(
            delete(Follower).where(Follower.codemark_id == codemark.id, Follower.user_id == caller.user.id)
        )
    return await publish_codemark(session, codemark, "codemark.updated", changes=("followers",))


async def react(
    session: UnitOfWork, caller: Caller, codemark: Codemark, reply_id: str, emoji: str, on: bool
) -> list[ReactionOut]:
    """Add (or remove) the caller's emoji on a codemark (reply_id '') or a reply; return its reactions."""
    existing = await session.scalar(
        select(Reaction).where(
            Reaction.codemark_id == codemark.id,
            Reaction.reply_id == reply_id,
            Reaction.user_id == caller.user.id,
            Reaction.emoji == emoji,
        )
    )
    if on and existing is None:
        session.add(
            Reaction(
                team_id=codemark.team_id,
                codemark_id=codemark.id,
                reply_id=reply_id,
                user_id=caller.user.id,
                emoji=emoji,
                created_at=utcnow(),
            )
        )
    elif not on and existing is not None:
        await session.delete(existing)
    await session.flush()
    reactions = await reactions_of(session, codemark.id, reply_id)
    if (existing is None) == on:  # something changed
        data = {
            "codemark_id": codemark.id,
            "reply_id": reply_id or None,
            "emoji": emoji,
            "user_id": caller.user.id,
            "reactions": [r.model_dump() for r in reactions],
        }
        kind = "reaction.added" if on else "reaction.removed"
        # The event is about the codemark's (or the reply's) writing: its author's key seals it.
        author_id = codemark.author_id
        if reply_id:
            author_id = await session.scalar(select(Reply.author_id).where(Reply.id == reply_id)) or author_id
        await record_event(
            session,
            codemark.team_id,
            kind,
            data,
            visible_to=codemark.private_to,
            author_id=author_id,
            codemark_id=codemark.id,
            subject_id=reply_id or codemark.id,
        )
    return reactions


async def _marker_of(session: UnitOfWork, codemark: Codemark, marker_id: str) -> Marker:
    marker = await session.get(Marker, marker_id) if is_id(marker_id) else None
    if marker is None or marker.codemark_id != codemark.id:
        raise NotFound("No such marker.")
    return marker


async def add_reference(
    session: UnitOfWork, codemark: Codemark, marker_id: str, ref: ReferenceIn
) -> tuple[CodemarkOut, bool]:
    """Record where a marker's block is at another commit; the flag tells whether it was new."""
    marker = await _marker_of(session, codemark, marker_id)
    known = set(
        await session.scalars(select(MarkerReference.commit).where(MarkerReference.marker_id == marker.id))
    )
    if ref.commit in known or ref.commit == marker.commit:
        return (await codemarks_out(session, [codemark]))[0], False
    if len(known) >= MAX_REFERENCES:
        raise Conflict(f"A marker keeps at most {MAX_REFERENCES} references.")
    session.add(await _reference_row(session, marker.id, marker.team_id, ref))
    return await publish_codemark(session, codemark, "codemark.updated", changes=("references",)), True


async def promote_marker(
    session: UnitOfWork, codemark: Codemark, marker_id: str, block: BlockAt
) -> CodemarkOut:
    """Make a provisional marker's canonical reference a commit that contains its code."""
    marker = await _marker_of(session, codemark, marker_id)
    if not marker.provisional:
        raise Conflict("The marker is not provisional (it was promoted already).")
    await session.execute(
        delete(MarkerReference).where(
            MarkerReference.marker_id == marker.id, MarkerReference.commit == block.commit
        )
    )
    # The provisional place is kept as a reference: it still helps a client that has only that HEAD.
    if marker.commit != block.commit:
        old_path = await content.open_marker_path(session, marker.id, marker.path)
        session.add(
            await _reference_row(
                session,
                marker.id,
                marker.team_id,
                ReferenceIn(
                    kind="other",
                    commit=marker.commit,
                    path=old_path,
                    start_line=marker.start_line,
                    end_line=marker.end_line,
                ),
            )
        )
    # Only the place changes: the code (or, in a code-free team, its fingerprint) stays as it was.
    marker.commit = block.commit
    marker.path = await content.seal_marker_path(
        session, marker.id, marker.team_id, codemark.author_id, block.path
    )
    marker.path_index = await path_index(session, marker.team_id, block.path)
    marker.start_line, marker.end_line = block.start_line, block.end_line
    marker.provisional = False
    return await publish_codemark(session, codemark, "codemark.updated", changes=("promoted",))
