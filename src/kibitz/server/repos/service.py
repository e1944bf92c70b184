"""Repositories: find a team's repo by any root commit or normalised remote, or create it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.errors import ValidationFailed
from kibitz.ids import new_id
from kibitz.remotes import normalise_remote
from kibitz.server.db import utcnow
from kibitz.server.repos.models import Repo, RepoRemote, RepoRootCommit
from kibitz.server.repos.schemas import RepoOut


async def repo_out(session: AsyncSession, repo: Repo) -> RepoOut:
    """Return the wire form of a repo with its identities."""
    commits = await session.scalars(
        select(RepoRootCommit.commit).where(RepoRootCommit.repo_id == repo.id).order_by(RepoRootCommit.id)
    )
    remotes = await session.scalars(
        select(RepoRemote.url).where(RepoRemote.repo_id == repo.id).order_by(RepoRemote.id)
    )
    return RepoOut(
        id=repo.id,
        team_id=repo.team_id,
        name=repo.name,
        root_commits=list(commits),
        remotes=list(remotes),
        created_at=repo.created_at,
    )


def _default_name(remotes: list[str], root_commits: list[str]) -> str:
    if remotes:
        return remotes[0].rstrip("/").rsplit("/", 1)[-1] or remotes[0]
    return "repo-" + root_commits[0][:8]


async def match_repo(
    session: AsyncSession, team_id: str, root_commits: list[str], remotes: list[str], name: str | None
) -> tuple[Repo, bool]:
    """Return the team's repo sharing any root commit or remote (learning the new ones), or a new repo.

    The boolean tells whether the repo was created.
    """
    normalised = []
    for url in remotes:
        clean = normalise_remote(url)
        if not clean:
            raise ValidationFailed("A remote URL could not be understood.", [{"loc": ["body", "remotes"]}])
        if clean not in normalised:
            normalised.append(clean)
    commits = list(dict.fromkeys(root_commits))

    commit_rows = await session.execute(
        select(RepoRootCommit.commit, RepoRootCommit.repo_id).where(
            RepoRootCommit.team_id == team_id, RepoRootCommit.commit.in_(commits)
        )
    )
    known_commits = {commit: repo_id for commit, repo_id in commit_rows}
    remote_rows = await session.execute(
        select(RepoRemote.url, RepoRemote.repo_id).where(
            RepoRemote.team_id == team_id, RepoRemote.url.in_(normalised)
        )
    )
    known_remotes = {url: repo_id for url, repo_id in remote_rows}
    candidate_ids = set(known_commits.values()) | set(known_remotes.values())
    created = False
    if candidate_ids:
        # A fork seen first by remote and later by root commit could match two repos: the oldest wins.
        candidates = await session.scalars(
            select(Repo).where(Repo.id.in_(candidate_ids)).order_by(Repo.created_at, Repo.id)
        )
        repo = candidates.first()
        assert repo is not None
    else:
        repo = Repo(
            id=new_id(), team_id=team_id, name=name or _default_name(normalised, commits), created_at=utcnow()
        )
        session.add(repo)
        await session.flush()
        created = True
    # Learn identities nobody in the team claims yet, so the next clone or mirror is recognised too.
    for commit in commits:
        if commit not in known_commits:
            session.add(RepoRootCommit(team_id=team_id, repo_id=repo.id, commit=commit))
    for url in normalised:
        if url not in known_remotes:
            session.add(RepoRemote(team_id=team_id, repo_id=repo.id, url=url))
    await session.flush()
    return repo, created


async def list_repos(session: AsyncSession, team_id: str) -> list[Repo]:
    """Return a team's repos, oldest first."""
    result = await session.scalars(
        select(Repo).where(Repo.team_id == team_id).order_by(Repo.created_at, Repo.id)
    )
    return list(result)
