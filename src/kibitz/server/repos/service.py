"""Repositories: find a team's repo by any root commit or normalised remote, or create it.

Names and remotes are sealed with the team's key; a remote is found by its blind index (team scope), which
also keeps it unique in the team.
"""

from __future__ import annotations

from sqlalchemy import func, select

from kibitz.ids import new_id
from kibitz.remotes import normalise_remote
from kibitz.server.audit.service import record_audit
from kibitz.server.auth.service import Caller
from kibitz.server.codemarks.models import Marker
from kibitz.server.crypto.sealer import team_owner
from kibitz.server.db import utcnow
from kibitz.server.errors import Conflict, ValidationFailed
from kibitz.server.repos.models import Repo, RepoRemote, RepoRootCommit
from kibitz.server.repos.schemas import RepoOut
from kibitz.server.unit_of_work import UnitOfWork

REMOTE_PURPOSE = "repo.remote"


async def remote_index(session: UnitOfWork, team_id: str, url: str) -> str:
    """Return the blind index of an already normalised remote URL in a team."""
    return await session.sealer.index(team_id, REMOTE_PURPOSE, url)


async def repo_out(session: UnitOfWork, repo: Repo) -> RepoOut:
    """Return the wire form of a repo with its identities."""
    commits = await session.scalars(
        select(RepoRootCommit.commit).where(RepoRootCommit.repo_id == repo.id).order_by(RepoRootCommit.id)
    )
    remotes = await session.scalars(
        select(RepoRemote.url).where(RepoRemote.repo_id == repo.id).order_by(RepoRemote.id)
    )
    sealer = session.sealer
    return RepoOut(
        id=repo.id,
        team_id=repo.team_id,
        name=await sealer.open(repo.name, Repo.name, row=repo.id),
        root_commits=list(commits),
        remotes=[await sealer.open(url, RepoRemote.url, row=repo.id) for url in remotes],
        created_at=repo.created_at,
    )


def _default_name(remotes: list[str], root_commits: list[str]) -> str:
    if remotes:
        return remotes[0].rstrip("/").rsplit("/", 1)[-1] or remotes[0]
    return "repo-" + root_commits[0][:8]


async def match_repo(
    session: UnitOfWork, team_id: str, root_commits: list[str], remotes: list[str], name: str | None
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
    sealer, owner = session.sealer, team_owner(team_id)
    indexes = {url: await remote_index(session, team_id, url) for url in normalised}

    commit_rows = await session.execute(
        select(RepoRootCommit.commit, RepoRootCommit.repo_id).where(
            RepoRootCommit.team_id == team_id, RepoRootCommit.commit.in_(commits)
        )
    )
    known_commits = {commit: repo_id for commit, repo_id in commit_rows}
    remote_rows = await session.execute(
        select(RepoRemote.url_index, RepoRemote.repo_id).where(
            RepoRemote.team_id == team_id, RepoRemote.url_index.in_(list(indexes.values()))
        )
    )
    known_remotes = {index: repo_id for index, repo_id in remote_rows}
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
        repo_id = new_id()
        default = name or _default_name(normalised, commits)
        sealed_name = await sealer.seal(owner, default, Repo.name, row=repo_id)
        repo = Repo(id=repo_id, team_id=team_id, name=sealed_name, created_at=utcnow())
        session.add(repo)
        await session.flush()
        created = True
    # Learn identities nobody in the team claims yet, so the next clone or mirror is recognised too.
    for commit in commits:
        if commit not in known_commits:
            session.add(RepoRootCommit(team_id=team_id, repo_id=repo.id, commit=commit))
    for url, index in indexes.items():
        if index not in known_remotes:
            sealed = await sealer.seal(owner, url, RepoRemote.url, row=repo.id)
            session.add(RepoRemote(team_id=team_id, repo_id=repo.id, url=sealed, url_index=index))
    await session.flush()
    return repo, created


async def list_repos(session: UnitOfWork, team_id: str) -> list[Repo]:
    """Return a team's repos, oldest first."""
    result = await session.scalars(
        select(Repo).where(Repo.team_id == team_id).order_by(Repo.created_at, Repo.id)
    )
    return list(result)


async def repo_names(session: UnitOfWork, team_id: str) -> dict[str, str]:
    """Return the names of a team's repos by id (names are sealed: opened here, a team has few repos)."""
    sealer = session.sealer
    return {
        repo.id: await sealer.open(repo.name, Repo.name, row=repo.id)
        for repo in await list_repos(session, team_id)
    }


async def rename_repo(session: UnitOfWork, caller: Caller, repo: Repo, name: str) -> None:
    """Rename a repo (the caller's role was checked); a name another repo of the team has is a conflict."""
    names = await repo_names(session, repo.team_id)
    if names[repo.id] == name:
        return
    taken = {other.casefold() for repo_id, other in names.items() if repo_id != repo.id}
    if name.casefold() in taken:
        raise Conflict(f"The team has another repo named {name!r}: names pick a repo, so they are unique.")
    repo.name = await session.sealer.seal(team_owner(repo.team_id), name, Repo.name, row=repo.id)
    await session.flush()
    # The audit trail keeps ids only: names are what people wrote.
    record_audit(
        session,
        "repo.renamed",
        team_id=repo.team_id,
        actor_id=caller.user.id,
        target_id=repo.id,
        address=caller.address,
    )


async def remove_repo(session: UnitOfWork, caller: Caller, repo: Repo) -> None:
    """Remove a repo and its identities; refused while a codemark is pinned to it (its code would be lost)."""
    pinned = await session.scalar(select(func.count()).select_from(Marker).where(Marker.repo_id == repo.id))
    if pinned:
        raise Conflict(
            f"{pinned} block(s) of codemarks are pinned to this repo: delete those codemarks first "
            "(removing a repo never deletes what people wrote)."
        )
    await session.delete(repo)
    await session.flush()
    record_audit(
        session,
        "repo.removed",
        team_id=repo.team_id,
        actor_id=caller.user.id,
        target_id=repo.id,
        address=caller.address,
    )
