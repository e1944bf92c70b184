"""Pages of codemarks assembled from each codemark's answer, kept in memory until that codemark changes.

A page's answer is the answers of its codemarks side by side. Building one costs most of a listing (its
parts' queries, its sealed cells opened, its wire form serialised), and between two listings of a busy team
most codemarks have not changed: so each codemark's answer is kept as JSON, with its author and assignees
left out, under the `revision` the database bumps whenever any row it is built from is written
(`Codemark.revision`, kept by triggers). A page then costs one query for its rows' ids and revisions, one
for the people it names unless they were read in the last half second (a name may change without the
codemark changing), and the answers of the codemarks that changed since they were last built.

The answers are kept by the sealer (`Sealer.remember_derived`) under the rule of every opened value: served
only while the keys they were opened with still open them, and dropped with the opened values after an
erasure.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from kibitz.server.auth.people import people_by_id
from kibitz.server.auth.service import Caller, user_ref
from kibitz.server.caches import Caches
from kibitz.server.codemarks.models import Codemark
from kibitz.server.codemarks.render import rendered_codemarks
from kibitz.server.codemarks.schemas import CodemarkOut
from kibitz.server.codemarks.service import CodemarkFilter, page_query, with_path_index
from kibitz.server.crypto.sealer import Sealer
from kibitz.server.events.service import head_seq
from kibitz.server.pagination import encode_cursor
from kibitz.server.unit_of_work import UnitOfWork

# What is left out of a kept answer: the wire forms of people, which change without the codemark changing.
_PEOPLE_FIELDS = {"author", "assignees"}


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """A codemark's answer without its people: JSON up to its closing brace, and whom to fill in."""

    head: bytes
    author_id: str
    assignee_ids: tuple[str, ...]


def _kept(name: str) -> tuple[str, str]:
    return ("codemark answer", name)


# The fields of a codemark's answer, in the order the API writes them.
_FIELDS = tuple(CodemarkOut.model_fields)


async def kept_codemark(sealer: Sealer, codemark_id: str, revision: int) -> dict[str, Any] | None:
    """Return a codemark's answer kept at this revision as JSON values, its people as ids, or None.

    People are `{"id": …}` with null email, name and handle: what an event stores (events/service.py).
    """
    kept: KeptAnswer | None = await sealer.derived(_kept(codemark_id), revision)
    if kept is None:
        return None
    values = json.loads(kept.head + b"}")
    values["author"] = _person(kept.author_id)
    values["assignees"] = [_person(p) for p in kept.assignee_ids]
    return {name: values[name] for name in _FIELDS}


def _person(user_id: str) -> dict[str, str | None]:
    return {"id": user_id, "email": None, "name": None, "handle": None}


async def codemark_page(
    session: UnitOfWork,
    caller: Caller,
    team_id: str,
    flt: CodemarkFilter,
    limit: int,
    cursor: str | None,
    people_cache: MutableMapping[str, tuple[str, bytes]],
) -> bytes:
    """Return one page of the team's codemarks the caller may see as the API's JSON (a `CodemarkPage`).

    `people_cache` keeps people's (email, wire form) for a moment (caches.py): a page names the same few.
    """
    flt = await with_path_index(session, team_id, flt)
    # Plain columns, run on the session's connection: the ORM's result machinery would add nothing but time
    # (a twentieth of an uncached page), and a listing has no pending writes to flush first.
    connection = await session.connection()
    rows = (await connection.execute(*page_query(team_id, caller.user.id, flt, limit, cursor))).all()
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    # Each row read once, by position (a row's attribute by name costs a lookup each time).
    page = rows[:limit]
    ids = [row[0] for row in page]
    sealer = session.sealer
    kept_by_name = await sealer.derived_many([(_kept(row[0]), row[1]) for row in page])
    answers: dict[str, KeptAnswer] = {
        i: kept for i in ids if (kept := kept_by_name.get(_kept(i))) is not None
    }
    missing = [codemark_id for codemark_id in ids if codemark_id not in answers]
    if missing:
        codemarks = list(await session.scalars(select(Codemark).where(Codemark.id.in_(missing))))
        # (A codemark deleted since the first query, on PostgreSQL, is simply not on the page.)
        for (out, sealed), codemark in zip(
            await rendered_codemarks(session, codemarks), codemarks, strict=True
        ):
            body = out.model_dump_json(exclude=_PEOPLE_FIELDS).encode()
            kept = KeptAnswer(body[:-1], out.author.id, tuple(a.id for a in out.assignees))
            answers[codemark.id] = kept
            # Kept at the revision this row was read at, which is never older than what it was built from.
            sealer.remember_derived(_kept(codemark.id), codemark.revision, sealed, kept, len(body) + 200)
    named = {p for a in answers.values() for p in (a.author_id, *a.assignee_ids)}
    people = {pid: found for pid in named if (found := people_cache.get(pid)) is not None}
    if len(people) < len(named):
        for pid, person in (await people_by_id(session, named - people.keys())).items():
            people[pid] = people_cache[pid] = (person.email, user_ref(person).model_dump_json().encode())
    # The page's bytes as one list of parts, joined once: each answer is copied once, not once per part.
    parts = [b'{"items":[']
    for codemark_id in ids:
        answer = answers.get(codemark_id)
        if answer is None or answer.author_id not in people:
            continue  # deleted, or its author erased, while this page was read
        if len(parts) > 1:
            parts.append(b",")
        parts += (answer.head, b',"author":', people[answer.author_id][1], b',"assignees":[')
        if answer.assignee_ids:
            named_here = sorted((people[p] for p in answer.assignee_ids if p in people), key=lambda p: p[0])
            parts.append(b",".join(wire for _email, wire in named_here))
        parts.append(b"]}")
    parts += (b'],"next_cursor":', json.dumps(next_cursor).encode(), b"}")
    return b"".join(parts)


async def cached_codemark_page(
    session: UnitOfWork,
    caller: Caller,
    team_id: str,
    flt: CodemarkFilter,
    limit: int,
    cursor: str | None,
    caches: Caches,
) -> bytes:
    """Return `codemark_page`'s answer, kept under the team's event seq (the API's listing and the feed page).

    The hot path of every editor opening a file: answers are cached under the team's event seq (see
    caches.py), so a repeated listing costs neither queries nor serialisation until the team changes. The
    caller's membership must have been checked already.
    """
    head = caches.heads.get(team_id) if caches.heads_are_exact else None
    if head is None:
        head = await head_seq(session, team_id)
        if caches.heads_are_exact:
            caches.heard(team_id, head)
    key = (team_id, head, caller.user.id, flt, limit, cursor)
    body = caches.listings.get(key)
    if body is None:
        body = await codemark_page(session, caller, team_id, flt, limit, cursor, caches.people)
        caches.listings[key] = body
    return body
