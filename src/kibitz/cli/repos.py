"""`kibitz repo list | rename | remove`: the repositories a team knows, which clones are linked to."""

from __future__ import annotations

from pathlib import Path

import click

from kibitz.cli.context import current_team, json_option, open_client, print_json
from kibitz.cli.errors import NOT_FOUND, CliError
from kibitz.cli.terminal import confirm, echo
from kibitz.client import KibitzClient, Repo
from kibitz.gitrepo import GitError, RepoLink, find_root, read_link


def repo_names(repos: list[Repo]) -> str:
    """Return the names of repos for a message, or a note that there are none."""
    return ", ".join(repo["name"] for repo in repos) or "none yet"


def find_repo(client: KibitzClient, team_id: str, wanted: str, team_name: str) -> Repo:
    """Return the team's repo whose name (case aside) or id is ``wanted``."""
    repos = client.list_repos(team_id)
    by_id = [repo for repo in repos if repo["id"] == wanted]
    if by_id:
        return by_id[0]
    named = [repo for repo in repos if repo["name"].casefold() == wanted.casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(repo["id"] for repo in named)
        raise CliError(f"several repositories of team {team_name} are named {wanted!r}: give the id ({ids})")
    raise CliError(
        f"team {team_name} has no repository named {wanted!r} (it has: {repo_names(repos)}); "
        "`kibitz repo list` shows them",
        NOT_FOUND,
    )


def _local_link() -> RepoLink | None:
    """Return the link of the clone around the cwd, if it is one linked with `kibitz init`."""
    try:
        return read_link(find_root(Path.cwd()))
    except (GitError, OSError):
        return None


def _team(client: KibitzClient) -> tuple[str, str, RepoLink | None]:
    """Return (team id, team name, link): the linked clone's team around the cwd, else the current team."""
    link = _local_link()
    if link is not None:
        for team in client.me()["teams"]:
            if team["id"] == link.team_id:
                return team["id"], team["name"], link
    current = current_team(client)
    return current.id, current.name, link


@click.group("repo")
def repo() -> None:
    """The repositories of the team (the linked clone's team inside one, else the current team)."""


@repo.command("list")
@json_option
def repo_list(as_json: bool) -> None:
    """List the team's repositories: id, name, and what recognises a clone of each.

    `*` marks the one the clone around the current directory is linked to.
    """
    with open_client() as client:
        team_id, team_name, link = _team(client)
        repos = client.list_repos(team_id)
    if as_json:
        print_json(repos)
        return
    for known in repos:
        mark = "*" if link is not None and link.repo_id == known["id"] else " "
        identities = [*known["remotes"], f"{len(known['root_commits'])} root commit(s)"]
        echo(f"{mark} {known['id']}  {known['name']}  ({', '.join(identities)})")
    if not repos:
        echo(f"Team {team_name} has no repositories yet: run `kibitz init` in a clone.", err=True)


@repo.command("rename")
@click.argument("name", metavar="REPO")
@click.argument("new_name", metavar="NEW_NAME")
@json_option
def repo_rename(name: str, new_name: str, as_json: bool) -> None:
    """Rename REPO (its name or id) to NEW_NAME; admins only. Names are unique in the team."""
    with open_client() as client:
        team_id, team_name, _ = _team(client)
        found = find_repo(client, team_id, name, team_name)
        renamed = client.rename_repo(team_id, found["id"], new_name)
    if as_json:
        print_json(renamed)
        return
    echo(f"Renamed {found['name']} ({found['id']}) to {renamed['name']}.")


@repo.command("remove")
@click.argument("name", metavar="REPO")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def repo_remove(name: str, yes: bool, as_json: bool) -> None:
    """Remove REPO (its name or id) from the team; admins only.

    Refused while a codemark is pinned to it: removing a repository never deletes what people wrote. It
    is for a repository registered by mistake (a second one for the same code, say). Clones linked to it
    need `kibitz init` again.
    """
    with open_client() as client:
        team_id, team_name, link = _team(client)
        found = find_repo(client, team_id, name, team_name)
        if not yes:
            confirm(f"Remove repository {found['name']} ({found['id']}) from team {team_name}?", abort=True)
        client.remove_repo(team_id, found["id"])
    if as_json:
        print_json({"id": found["id"], "removed": True})
        return
    echo(f"Removed {found['name']} ({found['id']}).")
    if link is not None and link.repo_id == found["id"]:
        echo("This clone was linked to it: run `kibitz init` to link it again.", err=True)


COMMANDS: tuple[click.Command, ...] = (repo,)
