"""HTTP routes of repositories."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from kibitz.server.access import access_repo, access_team
from kibitz.server.deps import CurrentCaller, DbSession
from kibitz.server.repos import service
from kibitz.server.repos.schemas import RepoMatchIn, RepoOut, RepoRenameIn

router = APIRouter(tags=["repos"])


@router.post(
    "/teams/{team_id}/repos/match",
    responses={201: {"model": RepoOut, "description": "A new repo was created"}},
)
async def match_repo(
    team_id: str, body: RepoMatchIn, session: DbSession, caller: CurrentCaller, response: Response
) -> RepoOut:
    """Find the team's repo by any root commit or remote, or create it (201)."""
    await access_team(session, caller, team_id)
    repo, created = await service.match_repo(session, team_id, body.root_commits, body.remotes, body.name)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return await service.repo_out(session, repo)


@router.get("/teams/{team_id}/repos")
async def list_repos(team_id: str, session: DbSession, caller: CurrentCaller) -> list[RepoOut]:
    """List a team's repos."""
    await access_team(session, caller, team_id)
    return [await service.repo_out(session, repo) for repo in await service.list_repos(session, team_id)]


@router.get("/teams/{team_id}/repos/{repo_id}")
async def get_repo(team_id: str, repo_id: str, session: DbSession, caller: CurrentCaller) -> RepoOut:
    """Return one repo."""
    repo = await access_repo(session, caller, team_id, repo_id)
    return await service.repo_out(session, repo)


@router.patch("/teams/{team_id}/repos/{repo_id}")
async def rename_repo(
    team_id: str, repo_id: str, body: RepoRenameIn, session: DbSession, caller: CurrentCaller
) -> RepoOut:
    """Rename a repo (admins): the name `kibitz init --repo NAME` links a clone by; unique in the team."""
    await access_team(session, caller, team_id, "admin")
    repo = await access_repo(session, caller, team_id, repo_id)
    await service.rename_repo(session, caller, repo, body.name)
    return await service.repo_out(session, repo)


@router.delete("/teams/{team_id}/repos/{repo_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_repo(team_id: str, repo_id: str, session: DbSession, caller: CurrentCaller) -> Response:
    """Remove a repo no codemark is pinned to (admins), with the root commits and remotes that find it."""
    await access_team(session, caller, team_id, "admin")
    repo = await access_repo(session, caller, team_id, repo_id)
    await service.remove_repo(session, caller, repo)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
