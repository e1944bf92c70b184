"""HTTP routes of shared locations."""

from __future__ import annotations

from fastapi import APIRouter

from kibitz.server.access import access_team
from kibitz.server.deps import CurrentCaller, DbSession
from kibitz.server.locations import service
from kibitz.server.locations.schemas import LocationsIn, LocationsOut, LocationsQuery, LocationsStored

router = APIRouter(tags=["locations"])


@router.post("/teams/{team_id}/locations")
async def store_locations(
    team_id: str, body: LocationsIn, session: DbSession, caller: CurrentCaller
) -> LocationsStored:
    """Share markers' locations at a commit (computed at that commit, never on unsaved files)."""
    await access_team(session, caller, team_id)
    stored, known = await service.store_locations(session, caller, team_id, body)
    return LocationsStored(stored=stored, already_known=known)


@router.post("/teams/{team_id}/locations/query")
async def query_locations(
    team_id: str, body: LocationsQuery, session: DbSession, caller: CurrentCaller
) -> LocationsOut:
    """Fetch the known locations of many markers at a commit."""
    await access_team(session, caller, team_id)
    found = await service.query_locations(
        session, caller, team_id, body.commit, body.algorithm, body.marker_ids
    )
    return LocationsOut(locations=found)
