"""Sealing what was written before encryption at rest: run once, at start-up, after migration 0005.

Migration 0005 cannot seal (only the running server holds the keys), so it gives every user row a
placeholder blind index (`legacy:<id>`). When the server starts and finds such rows, this module seals every
plaintext cell listed in `crypto.registry` with the key its writer would have used, computes the real blind
indexes, and rebuilds the search index with keyed words — in one transaction, so a crash leaves the
database as it was and the next start does it again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import delete, select, update

from kibitz.server.auth.models import ApiToken, User
from kibitz.server.auth.people import email_index, handle_index
from kibitz.server.auth.tokens import seal_token_name
from kibitz.server.codemarks.content import MARKER_COLUMNS
from kibitz.server.codemarks.models import (
    Codemark,
    CodemarkEdit,
    CodemarkTag,
    Marker,
    MarkerReference,
    Reply,
    ReplyEdit,
)
from kibitz.server.codemarks.service import PATH_PURPOSE, tag_row
from kibitz.server.crypto.blind_index import normalise_exact
from kibitz.server.crypto.envelope import PREFIX
from kibitz.server.crypto.sealer import (
    Owner,
    SealedColumn,
    Sealer,
    is_sealed,
    member_owner,
    team_owner,
    user_owner,
)
from kibitz.server.events.models import Event
from kibitz.server.events.service import strip_people
from kibitz.server.locations.models import MarkerLocation
from kibitz.server.repos.models import Repo, RepoRemote
from kibitz.server.repos.service import REMOTE_PURPOSE
from kibitz.server.search.index import index_text
from kibitz.server.search.models import SearchToken
from kibitz.server.teams.models import Team
from kibitz.server.teams.service import seal_team_name
from kibitz.server.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

LEGACY_PREFIX = "legacy:"


async def needs_sealing(session: UnitOfWork) -> bool:
    """Tell whether rows from before encryption at rest are waiting to be sealed."""
    found = await session.scalar(
        select(User.id).where(User.email_index.startswith(LEGACY_PREFIX, autoescape=True)).limit(1)
    )
    return found is not None


async def _seal(sealer: Sealer, owner: Owner, value: str | None, column: SealedColumn, row: str) -> Any:
    if value is None or not value or is_sealed(value):
        return value
    return await sealer.seal(owner, value, column, row=row)


async def seal_legacy_rows(session: UnitOfWork) -> int:
    """Seal every plaintext cell and compute blind indexes and keyed search words; return cells sealed."""
    sealer = session.sealer
    if not sealer.enabled or not await needs_sealing(session):
        return 0
    sealed = 0

    async def put(model: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
        nonlocal sealed
        changed = {k: v for k, v in values.items() if v is not None}
        if changed:
            conditions = [getattr(model, k) == v for k, v in key.items()]
            await session.execute(update(model).where(*conditions).values(**changed))
            sealed += len(changed)

    for user in (await session.execute(select(User.id, User.email, User.name, User.handle))).all():
        owner = user_owner(user.id)
        plain_email = user.email if not is_sealed(user.email) else None
        values: dict[str, Any] = {
            "email": await _seal(sealer, owner, user.email, User.email, user.id),
            "name": await _seal(sealer, owner, user.name, User.name, user.id),
            "handle": await _seal(sealer, owner, user.handle, User.handle, user.id),
        }
        if plain_email is not None:
            values["email_index"] = await email_index(session, plain_email)
            values["handle_index"] = await handle_index(session, user.handle)
        await put(User, {"id": user.id}, values)

    authors: dict[str, tuple[str, str]] = {}
    for cm in (
        await session.execute(
            select(
                Codemark.id,
                Codemark.team_id,
                Codemark.author_id,
                Codemark.title,
                Codemark.text,
                Codemark.created_at,
            )
        )
    ).all():
        authors[cm.id] = (cm.team_id, cm.author_id)
        owner = member_owner(cm.team_id, cm.author_id)
        await put(
            Codemark,
            {"id": cm.id},
            {
                "title": await _seal(sealer, owner, cm.title, Codemark.title, cm.id),
                "text": await _seal(sealer, owner, cm.text, Codemark.text, cm.id),
            },
        )
        if not is_sealed(cm.text):
            await session.execute(delete(SearchToken).where(SearchToken.codemark_id == cm.id))
            await index_text(session, cm.team_id, cm.id, cm.created_at, "", cm.title, cm.text, fresh=True)
    for edit in (
        await session.execute(
            select(CodemarkEdit.id, CodemarkEdit.codemark_id, CodemarkEdit.title, CodemarkEdit.text)
        )
    ).all():
        team_id, author_id = authors[edit.codemark_id]
        owner = member_owner(team_id, author_id)
        await put(
            CodemarkEdit,
            {"id": edit.id},
            {
                "title": await _seal(sealer, owner, edit.title, CodemarkEdit.title, edit.codemark_id),
                "text": await _seal(sealer, owner, edit.text, CodemarkEdit.text, edit.codemark_id),
            },
        )
    for marker in (
        await session.execute(
            select(
                Marker.id,
                Marker.codemark_id,
                Marker.path,
                Marker.code,
                Marker.context_before,
                Marker.context_after,
            )
        )
    ).all():
        team_id, author_id = authors[marker.codemark_id]
        owner = member_owner(team_id, author_id)
        values = {
            column.key: await _seal(sealer, owner, getattr(marker, column.key), column, marker.id)
            for column in MARKER_COLUMNS
        }
        if not is_sealed(marker.path):
            values["path_index"] = await sealer.index(team_id, PATH_PURPOSE, normalise_exact(marker.path))
        await put(Marker, {"id": marker.id}, values)
    for ref in (
        await session.execute(
            select(
                MarkerReference.id, MarkerReference.team_id, MarkerReference.marker_id, MarkerReference.path
            )
        )
    ).all():
        await put(
            MarkerReference,
            {"id": ref.id},
            {
                "path": await _seal(
                    sealer, team_owner(ref.team_id), ref.path, MarkerReference.path, ref.marker_id
                )
            },
        )
    for loc in (
        await session.execute(
            select(MarkerLocation.id, MarkerLocation.team_id, MarkerLocation.marker_id, MarkerLocation.path)
        )
    ).all():
        await put(
            MarkerLocation,
            {"id": loc.id},
            {
                "path": await _seal(
                    sealer, team_owner(loc.team_id), loc.path, MarkerLocation.path, loc.marker_id
                )
            },
        )

    reply_authors: dict[str, tuple[str, str]] = {}
    for reply in (
        await session.execute(
            select(Reply.id, Reply.codemark_id, Reply.team_id, Reply.author_id, Reply.text, Reply.created_at)
        )
    ).all():
        reply_authors[reply.id] = (reply.team_id, reply.author_id)
        owner = member_owner(reply.team_id, reply.author_id)
        await put(
            Reply,
            {"id": reply.id},
            {"text": await _seal(sealer, owner, reply.text, Reply.text, reply.id)},
        )
        if reply.text and not is_sealed(reply.text):
            created = await session.scalar(
                select(Codemark.created_at).where(Codemark.id == reply.codemark_id)
            )
            assert created is not None  # a reply's codemark exists (foreign key)
            await index_text(session, reply.team_id, reply.codemark_id, created, reply.id, reply.text)
    for redit in (await session.execute(select(ReplyEdit.id, ReplyEdit.reply_id, ReplyEdit.text))).all():
        team_id, author_id = reply_authors[redit.reply_id]
        await put(
            ReplyEdit,
            {"id": redit.id},
            {
                "text": await _seal(
                    sealer, member_owner(team_id, author_id), redit.text, ReplyEdit.text, redit.reply_id
                )
            },
        )

    for repo in (await session.execute(select(Repo.id, Repo.team_id, Repo.name))).all():
        await put(
            Repo,
            {"id": repo.id},
            {"name": await _seal(sealer, team_owner(repo.team_id), repo.name, Repo.name, repo.id)},
        )
    for remote in (
        await session.execute(select(RepoRemote.id, RepoRemote.team_id, RepoRemote.repo_id, RepoRemote.url))
    ).all():
        if is_sealed(remote.url):
            continue
        await put(
            RepoRemote,
            {"id": remote.id},
            {
                "url": await _seal(
                    sealer, team_owner(remote.team_id), remote.url, RepoRemote.url, remote.repo_id
                ),
                "url_index": await sealer.index(remote.team_id, REMOTE_PURPOSE, remote.url),
            },
        )

    for event in (await session.execute(select(Event.team_id, Event.seq, Event.payload))).all():
        if is_sealed(event.payload):
            continue
        payload = json.dumps(strip_people(json.loads(event.payload)), separators=(",", ":"))
        await put(
            Event,
            {"team_id": event.team_id, "seq": event.seq},
            {
                "payload": await sealer.seal(
                    team_owner(event.team_id),
                    payload,
                    Event.payload,
                    row=f"{event.team_id}/{event.seq}",
                )
            },
        )
    log.warning("sealed %d cells written before encryption at rest", sealed)
    return sealed


async def seal_plaintext_names(session: UnitOfWork) -> int:
    """Seal team names, tags and token names stored in the clear (before migration 0007); return how many.

    Each start looks for them (a few indexed probes when there are none), so a crash part-way leaves the
    rest for the next start; tags get their real blind index in place of the migration's placeholder.
    """
    sealer = session.sealer
    sealed = 0
    tags = (
        await session.execute(
            select(
                CodemarkTag.codemark_id, CodemarkTag.tag_index, CodemarkTag.tag, CodemarkTag.team_id
            ).where(CodemarkTag.tag_index.startswith(LEGACY_PREFIX, autoescape=True))
        )
    ).all()
    for tag in tags:
        row = await tag_row(session, tag.codemark_id, tag.team_id, tag.tag)
        await session.execute(
            update(CodemarkTag)
            .where(CodemarkTag.codemark_id == tag.codemark_id, CodemarkTag.tag_index == tag.tag_index)
            .values(tag_index=row.tag_index, tag=row.tag)
        )
        sealed += 1
    if not sealer.enabled:
        return sealed
    plain = ~Team.name.startswith(PREFIX, autoescape=True) & (Team.name != "")
    for team in (await session.execute(select(Team.id, Team.name).where(plain))).all():
        await put_sealed(session, Team, team.id, "name", await seal_team_name(session, team.id, team.name))
        sealed += 1
    plain = ~ApiToken.name.startswith(PREFIX, autoescape=True) & (ApiToken.name != "")
    for token in (
        await session.execute(select(ApiToken.id, ApiToken.user_id, ApiToken.name).where(plain))
    ).all():
        name = await seal_token_name(session, token.user_id, token.id, token.name)
        await put_sealed(session, ApiToken, token.id, "name", name)
        sealed += 1
    if sealed:
        log.warning("sealed %d team names, tags and token names stored in the clear", sealed)
    return sealed


async def put_sealed(session: UnitOfWork, model: Any, row_id: str, column: str, value: str) -> None:
    """Write one sealed value over the plaintext of a row (found by its id)."""
    await session.execute(update(model).where(model.id == row_id).values({column: value}))
