"""HTTP routes of export archives (docs/api.md, "Export archives")."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kibitz.server.access import access_team
from kibitz.server.deps import CurrentCaller, DbSession, State
from kibitz.server.export import service
from kibitz.server.export.schemas import TeamExport, UserExport, archive_bytes, export_filename

router = APIRouter(tags=["export"])


def download(archive: UserExport | TeamExport, subject_id: str) -> Response:
    """Answer an export archive as a file to download (the API and the account page)."""
    # The archive's own bytes, not a re-serialisation: they are what makes two exports comparable.
    name = export_filename(archive.kind, subject_id, archive.exported_at)
    return Response(
        archive_bytes(archive),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/me/export", response_model=None, responses={200: {"model": UserExport}})
async def export_me(session: DbSession, caller: CurrentCaller, state: State) -> Response:
    """Download your profile, memberships, tokens' metadata and everything you wrote, as one JSON archive."""
    async with service.snapshot(state.sessionmaker) as reader:
        archive = await service.export_user(session, caller, reader)
    return download(archive, caller.user.id)


@router.get("/teams/{team_id}/export", response_model=None, responses={200: {"model": TeamExport}})
async def export_team(team_id: str, session: DbSession, caller: CurrentCaller, state: State) -> Response:
    """Download the whole team (owners only), to import it into another server."""
    await access_team(session, caller, team_id, "owner")
    async with service.snapshot(state.sessionmaker) as reader:
        archive = await service.export_team(session, caller, team_id, reader)
    return download(archive, team_id)
