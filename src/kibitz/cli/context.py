"""What the commands share: a client for the configured server, the current team, JSON output, ids, passwords.

Shared by the command modules of ``kibitz.cli``, so that none imports another's commands.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import click

from kibitz.cli.errors import NOT_FOUND, USAGE, CliError
from kibitz.cli.terminal import echo, interactive, json_text, prompt
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
from kibitz.ids import ID_PREFIX_MIN, is_id_prefix

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")

F = TypeVar("F", bound=Callable[..., Any])
STDIN = "-"


def message_options(what: str) -> Callable[[F], F]:
    """Add ``-m/--message TEXT`` and ``--body-file FILE`` (read by `read_message`) to a command."""

    def decorate(command: F) -> F:
        command = click.option(
            "--body-file",
            metavar="FILE",
            type=click.Path(dir_okay=False, allow_dash=True),
            help=f"Read {what} from FILE (`-`: standard input).",
        )(command)
        return click.option(
            "-m",
            "--message",
            "text",
            metavar="TEXT",
            help=f"{what[0].upper()}{what[1:]} (`-`: read it from standard input). "
            "Without -m or --body-file, $VISUAL or $EDITOR opens for you to write it.",
        )(command)

    return decorate


def read_message(text: str | None, body_file: str | None, *, what: str = "message", initial: str = "") -> str:
    """Return the text given with -m, read from standard input or --body-file, or else written in an editor.

    Refuses an empty text, so that nothing is sent when the editor is left without writing anything.
    """
    check_message_sources(text, body_file)
    if text == STDIN or body_file == STDIN:
        body = sys.stdin.read().rstrip()
    elif body_file is not None:
        try:
            body = Path(body_file).read_text(encoding="utf-8").rstrip()
        except UnicodeDecodeError:
            raise CliError(f"{body_file}: not UTF-8 text") from None
    elif text is not None:
        body = text
    else:
        body = _written_in_editor(initial, what)
    if not body.strip():
        raise CliError(f"the {what} is empty: nothing was sent")
    return body


def check_message_sources(text: str | None, body_file: str | None) -> None:
    """Refuse -m together with --body-file (a usage error, found before anything else is done)."""
    if text is not None and body_file is not None:
        raise click.UsageError("give the text with either -m or --body-file, not both")


def _written_in_editor(initial: str, what: str) -> str:
    """Return what the person wrote in $VISUAL / $EDITOR, starting from ``initial``."""
    has_editor = bool(os.environ.get("VISUAL") or os.environ.get("EDITOR"))
    if not has_editor and not interactive():
        # click would fall back to vi, which cannot work without a terminal: say what to do instead.
        raise click.UsageError(
            f"give the {what} with -m TEXT, -m - (standard input) or --body-file FILE, "
            "or set $EDITOR to write it in an editor"
        )
    written = click.edit(initial, extension=".md", require_save=True)
    if written is None:
        raise CliError(f"the {what} was not saved: nothing was sent")
    return written.rstrip()


# Ids are 16 characters of Crockford base32; anything else cannot name an object on any server.
_ID = re.compile(r"[0-9a-z]{16}")
# What is taken for the first characters of an id (too short ones are refused with a clear message).
_PREFIX = re.compile(r"[0-9a-z]{1,15}")


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


ME = "@me"


def member_ids(client: KibitzClient, team_id: str, people: Sequence[str]) -> list[str]:
    """Return the user ids of team members named by email, handle (``ada`` or ``@ada``) or ``@me``.

    Emails and handles compare case-insensitively.
    """
    members = client.list_members(team_id)
    by_email = {member["email"].lower(): member["user_id"] for member in members}
    by_handle = {member["handle"].lower(): member["user_id"] for member in members}
    ids = []
    for who in people:
        wanted = who.strip().lower()
        if wanted == ME:
            user_id: str | None = client.me()["user"]["id"]
            if user_id not in by_email.values():
                raise CliError("you are not a member of this team")
        elif "@" in wanted.lstrip("@"):
            user_id = by_email.get(wanted)
        else:
            user_id = by_handle.get(wanted.removeprefix("@"))
        if user_id is None:
            kind = "email" if "@" in wanted.lstrip("@") else "handle"
            raise CliError(f"no member of this team has the {kind} {who!r}")
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
    lowered = text.lower()
    # Ids are lower case: an id or its first characters copied in capitals still name the object.
    return lowered if _ID.fullmatch(lowered) or _PREFIX.fullmatch(lowered) else text


def id_or_permalink(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Click callback: return the id that an argument names, by id or by permalink."""
    return object_id(value)


Kind = Literal["codemarks", "replies"]
_KIND_WORD: dict[Kind, str] = {"codemarks": "codemark", "replies": "reply"}


def resolve_id(
    client: KibitzClient, value: str, kinds: Sequence[Kind] = ("codemarks",)
) -> tuple[Kind | None, str]:
    """Return the kind and full id of the object that an id, or the first characters of one, names.

    A full id is returned as it is (its kind unknown: None), so it costs no request. A shorter one is looked
    up in the team of the clone around the cwd (else the current team), then in the caller's other teams,
    until a team has a match.
    """
    if _ID.fullmatch(value) or not _PREFIX.fullmatch(value):
        return None, value
    if len(value) < ID_PREFIX_MIN:
        raise too_short(value)
    found: list[tuple[Kind, str]] = []
    # A letter no id has (i, l, o, u) begins no id: nothing to ask the server.
    for team_id in _teams_to_search(client) if is_id_prefix(value) else []:
        matches = client.id_matches(team_id, value)
        found = [(kind, object_id) for kind in kinds for object_id in matches[kind]]
        if found:
            # The team you work in wins: a clash with another team's id does not make you type more.
            break
    if len(found) == 1:
        return found[0]
    words = " or ".join(_KIND_WORD[kind] for kind in kinds)
    if not found:
        raise CliError(f"no {words} id begins with {value!r} (or it is in a team you are not in)", NOT_FOUND)
    raise ambiguous(value, [f"{object_id}  {_KIND_WORD[kind]}" for kind, object_id in found])


def pick_by_prefix(value: str, ids: Sequence[str], what: str) -> str:
    """Return the one of `ids` that `value` is, or begins with at least ID_PREFIX_MIN characters.

    For ids the caller can list (their teams, a team's invites, their tokens); `what` names them in errors.
    """
    value = value.strip().lower()
    if value in ids:
        return value
    if len(value) < ID_PREFIX_MIN:
        raise too_short(value)
    found = [candidate for candidate in ids if candidate.startswith(value)]
    if not found:
        raise CliError(f"no {what} id begins with {value!r}", NOT_FOUND)
    if len(found) > 1:
        raise ambiguous(value, found)
    return found[0]


def too_short(value: str) -> CliError:
    """Return the error for an id prefix shorter than ID_PREFIX_MIN."""
    return CliError(f"{value!r} is too short: give at least {ID_PREFIX_MIN} characters of the id", USAGE)


def ambiguous(value: str, candidates: Sequence[str]) -> CliError:
    """Return the error for an id prefix that begins several ids, listing them one a line."""
    lines = "\n".join(f"  {candidate}" for candidate in candidates)
    return CliError(f"{value!r} is ambiguous: it begins these ids; give more characters:\n{lines}", USAGE)


def resolve_codemark_id(client: KibitzClient, value: str) -> str:
    """Return the full id of the codemark that an id or the first characters of one name."""
    return resolve_id(client, value)[1]


def _teams_to_search(client: KibitzClient) -> list[str]:
    """Return the caller's team ids: the linked clone's team (else the current team) first."""
    team_ids = [team["id"] for team in client.me()["teams"]]
    preferred: str | None = None
    try:
        link = read_link(find_root(Path.cwd()))
        preferred = link.team_id if link is not None else None
    except (GitError, OSError):
        pass
    if preferred is None:
        current = load_current_team()
        preferred = current.id if current is not None else None
    if preferred in team_ids:
        team_ids.remove(preferred)
        team_ids.insert(0, preferred)
    return team_ids


def read_password(from_stdin: bool, *, confirm: bool) -> str:
    """Return a password from the first line of standard input, or else asked for (twice with ``confirm``)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
        return password
    # Prompts go to stderr so that stdout carries only the command's output.
    return str(prompt("Password", hide_input=True, confirmation_prompt=confirm))
