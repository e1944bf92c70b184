"""Load a team export into this server (`kibitz server import`), all or nothing.

The team keeps every id it had (team, repos, codemarks, markers, replies, people), so permalinks and the ids
in clients' configuration stay valid. People are matched by email: an account that exists here is used
(its id replaces the archive's one everywhere); any other is created with the archive's id, an unusable
password and the status `imported`, which cannot log in until an operator sets a password
(`kibitz server user set-password`). Nothing is written unless everything is: an id already in use, a
malformed or inconsistent archive, or a database error leaves the database as it was.

The archive holds content in the clear; it is sealed here as the services seal it (crypto/registry.py):
people's emails, names and handles with their own keys, in `_accounts` (matched by the email's blind index,
handles kept unique by theirs); in `_write_team`, what a member wrote (titles, texts, markers' paths, code
and context, edits) with that member's key in the team (a marker's and a codemark edit's: the codemark
author's; a reply edit's: the reply author's), and repo names, remotes, references' and locations' paths
with the team's key. Blind indexes (marker paths, remotes) and the search words are computed there from the
plain values, under this server's keys: the exporting server's keys never travel.

A code-free team stays code-free. Its markers come without code (the archive has none to give) and without
the code's fingerprint: a fingerprint is keyed by the exporting server's team key, so it cannot be carried
over, and such markers show as ordinary markers with empty code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError

from kibitz.ids import is_id
from kibitz.server.audit.service import record_audit
from kibitz.server.auth.models import User
from kibitz.server.auth.people import free_handle, normalise_email, person_of, seal_profile
from kibitz.server.auth.service import find_user_by_email
from kibitz.server.codemarks.models import (
    CODEMARK_STATUSES,
    CODEMARK_TYPES,
    Codemark,
    CodemarkAssignee,
    CodemarkEdit,
    Follower,
    Marker,
    MarkerReference,
    Mention,
    Reaction,
    Relation,
    Reply,
    ReplyEdit,
)
from kibitz.server.codemarks.service import PATH_PURPOSE, tag_row
from kibitz.server.crypto.blind_index import normalise_email as normalise_email_for_index
from kibitz.server.crypto.blind_index import normalise_exact
from kibitz.server.crypto.sealer import SealedColumn, member_owner, team_owner
from kibitz.server.errors import Conflict, InvalidRequest
from kibitz.server.export.schemas import FORMAT, VERSION, TeamExport
from kibitz.server.locations.models import MarkerLocation
from kibitz.server.repos.models import Repo, RepoRemote, RepoRootCommit
from kibitz.server.repos.service import REMOTE_PURPOSE
from kibitz.server.search.index import index_text
from kibitz.server.teams.models import Membership, Team
from kibitz.server.teams.service import seal_team_name
from kibitz.server.unit_of_work import UnitOfWork

# Not an argon2 hash, so no password ever verifies against it (Passwords.verify answers False).
UNUSABLE_PASSWORD = "!imported"  # noqa: S105 - a marker that is no hash, not a password
# Accounts created by an import: they cannot log in (only `active` accounts can) until a password is set.
IMPORTED_STATUS = "imported"
_MAX_PROBLEMS = 10


@dataclass
class ImportSummary:
    """What an import did: the team, how many records of each kind, and the accounts it created or matched."""

    team_id: str
    team_name: str
    counts: dict[str, int]
    created_accounts: list[str] = field(default_factory=list)
    matched_accounts: list[str] = field(default_factory=list)


def parse_archive(data: bytes) -> TeamExport:
    """Return the team archive in `data`; InvalidRequest says plainly what is wrong with it. Pure."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"The file is not JSON ({error}).") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InvalidRequest(f'This is not a Kibitz export archive (it has no "format": "{FORMAT}").')
    if raw.get("version") != VERSION:
        raise InvalidRequest(
            f"This archive has format version {raw.get('version')!r}; this server reads version {VERSION}.",
            {"version": raw.get("version"), "supported": [VERSION]},
        )
    if raw.get("kind") != "team":
        raise InvalidRequest(
            f"This is a {raw.get('kind')!r} export; only a team export (kibitz export --team) "
            "can be imported."
        )
    try:
        archive = TeamExport.model_validate(raw)
    except ValidationError as error:
        # Locations and messages only: the rejected values may be anyone's text.
        errors = error.errors(include_input=False)[:_MAX_PROBLEMS]
        problems = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in errors]
        where = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in errors)
        raise InvalidRequest(f"The archive is not valid: {where}.", problems) from None
    problems_found = archive_problems(archive)
    if problems_found:
        raise InvalidRequest(
            "The archive is inconsistent: " + "; ".join(problems_found) + ".", {"problems": problems_found}
        )
    return archive


def archive_problems(archive: TeamExport) -> list[str]:
    """Return what is inconsistent in an archive (references to records it lacks, repeated ids). Pure."""
    problems: list[str] = []

    def check(ok: bool, message: str) -> None:
        if not ok and len(problems) < _MAX_PROBLEMS:
            problems.append(message)

    team = archive.team.id
    people = {p.id for p in archive.people}
    repos = {r.id for r in archive.repos}
    codemarks = {c.id for c in archive.codemarks}
    markers = {m.id for c in archive.codemarks for m in c.markers}
    replies = {r.id for r in archive.replies}
    check(is_id(team), "the team id is not an id")
    for kind, ids in (
        ("people", [p.id for p in archive.people]),
        ("repos", [r.id for r in archive.repos]),
        ("codemarks", [c.id for c in archive.codemarks]),
        ("markers", [m.id for c in archive.codemarks for m in c.markers]),
        ("replies", [r.id for r in archive.replies]),
    ):
        check(len(set(ids)) == len(ids), f"{kind} repeat an id")
        check(all(is_id(i) for i in ids), f"{kind} have malformed ids")
    # Compared as the blind index compares them: two spellings of one address would collide there.
    emails = [normalise_email_for_index(p.email) for p in archive.people]
    check(len(set(emails)) == len(emails), "people repeat an email address")
    check(all(m.user_id in people for m in archive.members), "a member is not among people")
    check(any(m.role == "owner" for m in archive.members), "the team has no owner")
    for c in archive.codemarks:
        check(c.team_id == team, f"codemark {c.id} belongs to another team")
        check(
            c.type in CODEMARK_TYPES and c.status in CODEMARK_STATUSES,
            f"codemark {c.id} has an unknown type or status",
        )
        check(c.author_id in people, f"codemark {c.id}'s author is not among people")
        check(set(c.assignees) | set(c.mentions) <= people, f"codemark {c.id} names someone not among people")
        check(all(v.editor_id in people for v in c.history), f"codemark {c.id}'s editor is not among people")
        check(all(m.repo_id in repos for m in c.markers), f"codemark {c.id} has a marker in an unknown repo")
    for r in archive.replies:
        check(r.team_id == team and r.codemark_id in codemarks, f"reply {r.id} is on an unknown codemark")
        check(r.author_id in people and set(r.mentions) <= people, f"reply {r.id} names someone unknown")
    for reaction in archive.reactions:
        check(
            reaction.team_id == team
            and reaction.codemark_id in codemarks
            and (reaction.reply_id == "" or reaction.reply_id in replies)
            and reaction.user_id in people,
            "a reaction refers to an unknown codemark, reply or person",
        )
    for follow in archive.follows:
        check(
            follow.codemark_id in codemarks and follow.user_id in people, "a follow refers to unknown records"
        )
    for relation in archive.relations:
        check(
            relation.first_id in codemarks
            and relation.second_id in codemarks
            and relation.first_id < relation.second_id,
            "a relation refers to unknown codemarks or is not in order",
        )
    for location in archive.locations:
        check(
            location.marker_id in markers
            and (location.computed_by is None or location.computed_by in people),
            "a shared location refers to an unknown marker or person",
        )
    return problems


async def _taken(session: UnitOfWork, column: Any, ids: Sequence[str]) -> int:
    count = 0
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        count += int(await session.scalar(select(func.count()).where(column.in_(chunk))) or 0)
    return count


async def _refuse_taken_ids(session: UnitOfWork, archive: TeamExport) -> None:
    if await session.get(Team, archive.team.id) is not None:
        raise Conflict(
            f"A team with the id {archive.team.id} exists on this server already; nothing was imported.",
            {"team_id": archive.team.id},
        )
    taken = {
        kind: await _taken(session, column, ids)
        for kind, column, ids in (
            ("repos", Repo.id, [r.id for r in archive.repos]),
            ("codemarks", Codemark.id, [c.id for c in archive.codemarks]),
            ("markers", Marker.id, [m.id for c in archive.codemarks for m in c.markers]),
            ("replies", Reply.id, [r.id for r in archive.replies]),
        )
    }
    taken = {kind: n for kind, n in taken.items() if n}
    if taken:
        listed = ", ".join(f"{n} {kind}" for kind, n in taken.items())
        raise Conflict(
            f"Ids of the archive are in use on this server ({listed}); nothing was imported.", taken
        )


async def _accounts(session: UnitOfWork, archive: TeamExport, summary: ImportSummary) -> dict[str, str]:
    """Match or create the archive's people; return archive user id → this server's user id."""
    mapping: dict[str, str] = {}
    for person in archive.people:
        existing = await find_user_by_email(session, person.email)
        if existing is not None:
            mapping[person.id] = existing.id
            summary.matched_accounts.append((await person_of(session, existing)).email)
            continue
        if await session.get(User, person.id) is not None:
            raise Conflict(
                f"The account id {person.id} is in use here by another email address; nothing was imported.",
                {"user_id": person.id},
            )
        user = User(
            id=person.id,
            password_hash=UNUSABLE_PASSWORD,
            status=IMPORTED_STATUS,
            created_at=person.created_at,
        )
        await seal_profile(
            session,
            user,
            email=person.email,
            name=person.name,
            handle=await free_handle(session, person.handle),
        )
        session.add(user)
        mapping[person.id] = person.id
        summary.created_accounts.append(normalise_email(person.email))
        await session.flush()
    return mapping


async def import_team(session: UnitOfWork, archive: TeamExport) -> ImportSummary:
    """Write the archive's team into this database (the caller commits); Conflict if any id is in use."""
    await _refuse_taken_ids(session, archive)
    summary = ImportSummary(
        team_id=archive.team.id,
        team_name=archive.team.name,
        counts={name: len(value) for name, value in archive if isinstance(value, list)},
    )
    try:
        mapping = await _accounts(session, archive, summary)
        await _write_team(session, archive, mapping)
    except (IntegrityError, DataError):
        # archive_problems names what it can; whatever else the database refuses is refused whole.
        raise InvalidRequest("The archive is inconsistent: the database refused its records.") from None
    record_audit(
        session,
        "team.imported",
        team_id=archive.team.id,
        target_id=archive.team.id,
        by="operator",
        counts=summary.counts,
        accounts_created=len(summary.created_accounts),
        accounts_matched=len(summary.matched_accounts),
    )
    return summary


async def _write_team(session: UnitOfWork, archive: TeamExport, mapping: dict[str, str]) -> None:
    """Add every record of the archive; `mapping` turns the archive's user ids into this server's."""

    def uid(user_id: str) -> str:
        return mapping.get(user_id, user_id)

    team_id = archive.team.id
    sealer = session.sealer
    team_key = team_owner(team_id)

    async def seal(author_id: str | None, value: str, column: SealedColumn, row: str) -> str:
        """Seal with the author's key in this team (the archive's author id), or the team's key (None)."""
        owner = team_key if author_id is None else member_owner(team_id, uid(author_id))
        return await sealer.seal(owner, value, column, row=row)

    session.add(
        Team(
            id=team_id,
            name=await seal_team_name(session, team_id, archive.team.name),
            # No events come along (docs/api.md): numbering continues after the exporting server's last one.
            event_seq=archive.team.event_seq,
            allowlist=" ".join(archive.team.allowlist),
            code_free=archive.team.code_free,
            created_at=archive.team.created_at,
        )
    )
    await session.flush()
    for member in archive.members:
        session.add(
            Membership(
                team_id=team_id, user_id=uid(member.user_id), role=member.role, created_at=member.joined_at
            )
        )
    for repo in archive.repos:
        name = await seal(None, repo.name, Repo.name, repo.id)
        session.add(Repo(id=repo.id, team_id=team_id, name=name, created_at=repo.created_at))
    await session.flush()
    for repo in archive.repos:
        for commit in repo.root_commits:
            session.add(RepoRootCommit(team_id=team_id, repo_id=repo.id, commit=commit))
        for url in repo.remotes:
            session.add(
                RepoRemote(
                    team_id=team_id,
                    repo_id=repo.id,
                    url=await seal(None, url, RepoRemote.url, repo.id),
                    url_index=await sealer.index(team_id, REMOTE_PURPOSE, url),
                )
            )
    for c in archive.codemarks:
        session.add(
            Codemark(
                id=c.id,
                team_id=team_id,
                type=c.type,
                status=c.status,
                title=await seal(c.author_id, c.title, Codemark.title, c.id),
                text=await seal(c.author_id, c.text, Codemark.text, c.id),
                author_id=uid(c.author_id),
                pinned=c.pinned,
                created_at=c.created_at,
                updated_at=c.updated_at,
            )
        )
    await session.flush()
    for c in archive.codemarks:
        for m in c.markers:
            session.add(
                Marker(
                    id=m.id,
                    codemark_id=c.id,
                    team_id=team_id,
                    repo_id=m.repo_id,
                    position=m.position,
                    path=await seal(c.author_id, m.path, Marker.path, m.id),
                    path_index=await sealer.index(team_id, PATH_PURPOSE, normalise_exact(m.path)),
                    commit=m.commit,
                    start_line=m.start_line,
                    end_line=m.end_line,
                    code=await seal(c.author_id, m.code, Marker.code, m.id),
                    context_before=await seal(c.author_id, m.context_before, Marker.context_before, m.id),
                    context_after=await seal(c.author_id, m.context_after, Marker.context_after, m.id),
                    provisional=m.provisional,
                )
            )
        for tag in c.tags:
            session.add(await tag_row(session, c.id, team_id, tag))
        for user_id in c.assignees:
            session.add(CodemarkAssignee(codemark_id=c.id, user_id=uid(user_id)))
        for user_id in c.mentions:
            session.add(Mention(team_id=team_id, codemark_id=c.id, reply_id="", user_id=uid(user_id)))
        for version in c.history:
            session.add(
                CodemarkEdit(
                    codemark_id=c.id,
                    team_id=team_id,
                    editor_id=uid(version.editor_id),
                    title=await seal(c.author_id, version.title, CodemarkEdit.title, c.id),
                    text=await seal(c.author_id, version.text, CodemarkEdit.text, c.id),
                    replaced_at=version.replaced_at,
                )
            )
        await index_text(session, team_id, c.id, c.created_at, "", c.title, c.text, fresh=True)
    await session.flush()
    for c in archive.codemarks:
        for m in c.markers:
            for ref in m.references:
                session.add(
                    MarkerReference(
                        marker_id=m.id,
                        team_id=team_id,
                        kind=ref.kind,
                        commit=ref.commit,
                        path=await seal(None, ref.path, MarkerReference.path, m.id),
                        start_line=ref.start_line,
                        end_line=ref.end_line,
                        created_at=ref.created_at,
                    )
                )
    created = {c.id: c.created_at for c in archive.codemarks}
    for r in archive.replies:
        session.add(
            Reply(
                id=r.id,
                codemark_id=r.codemark_id,
                team_id=team_id,
                author_id=uid(r.author_id),
                text=await seal(r.author_id, r.text, Reply.text, r.id),
                created_at=r.created_at,
                updated_at=r.updated_at,
                deleted_at=r.deleted_at,
            )
        )
    await session.flush()
    for r in archive.replies:
        for user_id in r.mentions:
            session.add(
                Mention(team_id=team_id, codemark_id=r.codemark_id, reply_id=r.id, user_id=uid(user_id))
            )
        for reply_version in r.history:
            session.add(
                ReplyEdit(
                    reply_id=r.id,
                    team_id=team_id,
                    text=await seal(r.author_id, reply_version.text, ReplyEdit.text, r.id),
                    replaced_at=reply_version.replaced_at,
                )
            )
        if r.deleted_at is None:
            await index_text(
                session, team_id, r.codemark_id, created[r.codemark_id], r.id, r.text, fresh=True
            )
    for reaction in archive.reactions:
        session.add(
            Reaction(
                team_id=team_id,
                codemark_id=reaction.codemark_id,
                reply_id=reaction.reply_id,
                user_id=uid(reaction.user_id),
                emoji=reaction.emoji,
                created_at=reaction.created_at,
            )
        )
    for follow in archive.follows:
        session.add(Follower(codemark_id=follow.codemark_id, user_id=uid(follow.user_id)))
    for relation in archive.relations:
        session.add(Relation(first_id=relation.first_id, second_id=relation.second_id, team_id=team_id))
    for loc in archive.locations:
        session.add(
            MarkerLocation(
                team_id=team_id,
                marker_id=loc.marker_id,
                commit=loc.commit,
                algorithm=loc.algorithm,
                path=await seal(None, loc.path, MarkerLocation.path, loc.marker_id)
                if loc.path is not None
                else None,
                start_line=loc.start_line,
                end_line=loc.end_line,
                status=loc.status,
                confidence=loc.confidence,
                computed_by=uid(loc.computed_by) if loc.computed_by is not None else None,
                created_at=loc.created_at,
            )
        )
    await session.flush()
