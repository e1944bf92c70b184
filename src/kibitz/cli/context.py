"""What the commands share: a client for the configured server, the current team, JSON output, ids, passwords.

Shared by the command modules of ``kibitz.cli``, so that none imports another's commands.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from kibitz.cli.errors import CliError
from kibitz.cli.terminal import echo, json_text, prompt
from kibitz.client import (
    CurrentTeam,
    KibitzClient,
    KibitzError,
    NotLoggedIn,
    load_current_team,
    resolve_ca_file,
    resolve_cert_sha256,
    resolve_server,
    resolve_token,
    save_current_team,
)
from kibitz.gitrepo import GitError, find_root, read_link

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")

# Ids are 16 characters of Crockford base32; anything else cannot name an object on any server.
_ID = re.compile(r"[0-9a-z]{16}")


def print_json(value: Any) -> None:
    """Print one JSON document on stdout."""
    echo(json_text(value))


# Where the root group keeps --ca-file / --cert-sha256 for the command it runs (click's shared ctx.meta).
TRUST_META = "kibitz.trust"


@dataclass(frozen=True, slots=True)
class Trust:
    """Which server certificates the command trusts beyond the usual CAs (docs/security.md, TLS)."""

    ca_file: Path | None = None
    cert_sha256: str | None = None


def trust() -> Trust:
    """Return the --ca-file / --cert-sha256 given to `kibitz`, else KIBITZ_CA_FILE / KIBITZ_CERT_SHA256."""
    context = click.get_current_context(silent=True)
    chosen = context.meta.get(TRUST_META) if context is not None else None
    if isinstance(chosen, Trust):
        return chosen
    ca_file = resolve_ca_file()
    return Trust(ca_file=Path(ca_file) if ca_file else None, cert_sha256=resolve_cert_sha256())


def client_for(server: str, token: str | None = None) -> KibitzClient:
    """Return a client for ``server`` that verifies its certificate as the command line asks."""
    chosen = trust()
    return KibitzClient(server, token, ca_file=chosen.ca_file, cert_sha256=chosen.cert_sha256)


@contextmanager
def open_client(*, login_required: bool = True) -> Iterator[KibitzClient]:
    """Yield a client for the configured server, with the configured token."""
    server = resolve_server()
    if not server:
        raise NotLoggedIn("not logged in: run `kibitz login --server URL --email EMAIL` first")
    token = resolve_token()
    if login_required and not token:
        raise NotLoggedIn("not logged in: run `kibitz login --server URL --email EMAIL` first")
    with client_for(server, token) as client:
        yield client


def current_team(client: KibitzClient) -> CurrentTeam:
    """Return the current team; if none is chosen and the user is in exactly one, choose that one."""
    team = load_current_team()
    if team is not None:
        return team
    teams = client.me()["teams"]
    if len(teams) == 1:
        team = CurrentTeam(id=teams[0]["id"], name=teams[0]["name"])
        save_current_team(team)
        return team
    raise CliError(
        "no current team: run `kibitz team use NAME`, `kibitz team create NAME` or `kibitz team join CODE`"
    )


def lost_membership() -> str | None:
    """Return why a command found nothing when the reason is that you left or were removed from its team.

    Asked after a "not found" answer: the server says the same for another team's objects as for missing
    ones, so only your own list of teams tells that the current team (or the clone's) is no longer yours.
    """
    team = load_current_team()
    linked = _linked_team_id()
    try:
        with open_client() as client:
            mine = {t["id"] for t in client.me()["teams"]}
    except KibitzError:
        return None
    if team is not None and team.id not in mine:
        where = f"team {team.name}"
    elif linked is not None and linked not in mine:
        where = "the team this clone is linked to"
    else:
        return None
    return (
        f"you are no longer a member of {where}: ask one of its admins for a new invite, then run "
        "`kibitz team join CODE` (or choose another team with `kibitz team use NAME`)"
    )


def _linked_team_id() -> str | None:
    """Return the team of the clone in the current directory, if it is a linked clone."""
    try:
        link = read_link(find_root(Path.cwd()))
    except (GitError, OSError):
        return None
    return link.team_id if link is not None else None


def member_ids(client: KibitzClient, team_id: str, emails: tuple[str, ...]) -> list[str]:
    """Return the user ids of team members by email (emails compare case-insensitively)."""
    by_email = {member["email"].lower(): member["user_id"] for member in client.list_members(team_id)}
    ids = []
    for email in emails:
        user_id = by_email.get(email.strip().lower())
        if user_id is None:
            raise CliError(f"no member of this team has the email {email!r}")
        if user_id not in ids:
            ids.append(user_id)
    return ids


def object_id(value: str) -> str:
    """Return the id in ``value``: an id, or a codemark's permalink (``https://host/c/ID``, ``/c/ID``)."""
    text = value.strip()
    if "/" in text:
        # The host is not checked: one server is often reached by several names (a proxy, a VPN).
        segments = [s for s in urlsplit(text).path.split("/") if s]
        if len(segments) >= 2 and segments[-2] == "c":
            text = segments[-1]
        else:
            raise click.BadParameter(f"{value!r} is neither an id nor a permalink (…/c/ID)")
    return text.lower() if _ID.fullmatch(text.lower()) else text


def id_or_permalink(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Click callback: return the id that an argument names, by id or by permalink."""
    return object_id(value)


def read_password(from_stdin: bool, *, confirm: bool) -> str:
    """Return a password from the first line of standard input, or else asked for (twice with ``confirm``)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
        return password
    # Prompts go to stderr so that stdout carries only the command's output.
    return str(prompt("Password", hide_input=True, confirmation_prompt=confirm))
