"""Shared locations: store what clients computed at commits (first write wins) and hand it to teammates.

A location's path is sealed with the team's key (row: the marker's id) and opened when queried. The
commit that made a block what it is (`why_commit`) is often found after its location was shared: it is
added to a known location that has none, and never replaces one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kibitz.server.auth.service import Caller
from kibitz.server.codemarks.models import Codemark, Marker
from kibitz.server.crypto.sealer import team_owner
from kibitz.server.db import utcnow
from kibitz.server.errors import ValidationFailed
from kibitz.server.events.service import record_event
from kibitz.server.locations.models import MarkerLocation
from kibitz.server.locations.schemas import LocationOut, LocationsIn
from kibitz.server.unit_of_work import UnitOfWork


def _visible_markers(team_id: str, user_id: str, marker_ids: Sequence[str]) -> Select[str]:
    """Select those of `marker_ids` that are the team's markers the user may see (not others' bookmarks)."""
    return (
        select(Marker.id)
        .join(Codemark, Codemark.id == Marker.codemark_id)
        .where(
            Marker.team_id == team_id,
            Marker.id.in_(set(marker_ids)),
            Codemark.visible_to(user_id),
        )
    )


async def _check_markers(session: UnitOfWork, team_id: str, user_id: str, marker_ids: Sequence[str]) -> None:
    wanted = set(marker_ids)
    # Another member's bookmark is refused exactly like a marker that does not exist.
    found = set(await session.scalars(_visible_markers(team_id, user_id, marker_ids)))
    unknown = sorted(wanted - found)
    if unknown:
        raise ValidationFailed(
            "Locations must name markers of the team.",
            [{"loc": ["body", "locations", "marker_id"], "unknown": unknown}],
        )


async def store_locations(
    session: UnitOfWork, caller: Caller, team_id: str, data: LocationsIn
) -> tuple[int, int]:
    """Store locations at a commit; a (marker, commit, algorithm) already known keeps its first value.

    Returns how many were stored and how many were already known.
    """
    first: dict[str, dict[str, object]] = {}
    now = utcnow()
    sealer, owner = session.sealer, team_owner(team_id)
    for loc in data.locations:
        # Within one batch too, the first location given for a marker wins.
        if loc.marker_id in first:
            continue
        path = None
        if loc.path is not None:
            path = await sealer.seal(owner, loc.path, MarkerLocation.path, row=loc.marker_id)
        first[loc.marker_id] = {
            "team_id": team_id,
            "marker_id": loc.marker_id,
            "commit": data.commit,
            "algorithm": data.algorithm,
            "path": path,
            "start_line": loc.start_line,
            "end_line": loc.end_line,
            "status": loc.status,
            "confidence": loc.confidence,
            "why_commit": loc.why_commit,
            "computed_by": caller.user.id,
            "created_at": now,
        }
    await _check_markers(session, team_id, caller.user.id, list(first))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # ON CONFLICT DO NOTHING keeps the first write even when two clients upload the same commit at once.
    statement = (
        insert(MarkerLocation)
        .values(list(first.values()))
        .on_conflict_do_nothing(index_elements=["marker_id", "commit", "algorithm"])
        .returning(MarkerLocation.marker_id)
    )
    stored = list(await session.scalars(statement))
    late = [
        {"m": marker_id, "w": values["why_commit"]}
        for marker_id, values in first.items()
        if values["why_commit"] is not None and marker_id not in stored
    ]
    if late:
        # A plain (not ORM) update, run once per marker: only where no commit is known yet.
        table = MarkerLocation.__table__
        assert isinstance(table, Table)
        await session.execute(
            update(table)
            .where(
                table.c.team_id == team_id,
                table.c.marker_id == bindparam("m"),
                table.c.commit == data.commit,
                table.c.algorithm == data.algorithm,
                table.c.why_commit.is_(None),
            )
            .values(why_commit=bindparam("w")),
            late,
        )
    # Bookmarks are private, so where they are is not announced to the team.
    public = list(
        await session.scalars(
            select(Marker.id)
            .join(Codemark, Codemark.id == Marker.codemark_id)
            .where(Marker.id.in_(stored), Codemark.shared)
        )
    )
    if public:
        found = await query_locations(session, caller, team_id, data.commit, data.algorithm, public)
        payload = {
            "commit": data.commit,
            "algorithm": data.algorithm,
            "locations": [f.model_dump(mode="json") for f in found],
        }
        await record_event(session, team_id, "location.stored", payload)
    return len(stored), len(data.locations) - len(stored)


async def query_locations(
    session: UnitOfWork,
    caller: Caller,
    team_id: str,
    commit: str,
    algorithm: str,
    marker_ids: Sequence[str],
) -> list[LocationOut]:
    """Return the known locations of these markers at a commit; unknown, foreign markers and other members'
    bookmarks are absent."""
    rows = await session.scalars(
        select(MarkerLocation)
        .where(
            MarkerLocation.team_id == team_id,
            MarkerLocation.commit == commit,
            MarkerLocation.algorithm == algorithm,
            MarkerLocation.marker_id.in_(_visible_markers(team_id, caller.user.id, marker_ids)),
        )
        .order_by(MarkerLocation.marker_id)
    )
    sealer = session.sealer
    return [
        LocationOut.model_validate(
            {
                "marker_id": row.marker_id,
                "commit": row.commit,
                "algorithm": row.algorithm,
                "path": None
                if row.path is None
                else await sealer.open(row.path, MarkerLocation.path, row=row.marker_id),
                "start_line": row.start_line,
                "end_line": row.end_line,
                "status": row.status,
                "confidence": row.confidence,
                "why_commit": row.why_commit,
                "computed_by": row.computed_by,
                "created_at": row.created_at,
            }
        )
        for row in rows
    ]


async def latest_locations(
    session: UnitOfWork, caller: Caller, team_id: str, marker_ids: Sequence[str]
) -> dict[str, LocationOut]:
    """Return, per marker, the location a client shared last (at whichever commit); other members' bookmarks
    and unknown markers are absent."""
    visible = set(await session.scalars(_visible_markers(team_id, caller.user.id, marker_ids)))
    found: dict[str, LocationOut] = {}
    # One indexed look-up per marker (a codemark has a handful): a marker may have been located at
    # thousands of commits, and only the newest is wanted.
    for marker_id in sorted(visible):
        row = await session.scalar(
            select(MarkerLocation)
            .where(MarkerLocation.team_id == team_id, MarkerLocation.marker_id == marker_id)
            .order_by(MarkerLocation.created_at.desc(), MarkerLocation.id.desc())
            .limit(1)
        )
        if row is not None:
            found[marker_id] = (
                await query_locations(session, caller, team_id, row.commit, row.algorithm, [marker_id])
            )[0]
    return found
