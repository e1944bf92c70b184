"""Erasure: `kibitz account delete`, `kibitz team delete`, and the operator's `kibitz server erasures`.

Attached to the root, `team` and `server` groups by ``kibitz.cli.main``; docs/cli.md describes them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kibitz.cli.context import current_team, json_option, open_client, print_json
from kibitz.cli.errors import CliError
from kibitz.client import Erasure, delete_credentials, load_current_team, save_current_team

_yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


def _describe(erasure: Erasure) -> str:
    if erasure["status"] == "done":
        return f"erasure {erasure['id']} is done ({erasure['completed_at']})"
    return (
        f"erasure {erasure['id']} is pending: the keys are destroyed within a minute "
        f"(at the latest by {erasure['due_at']})"
    )


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
        return password
    # Prompts go to stderr so that stdout carries only the command's output.
    return str(click.prompt("Password", hide_input=True, err=True))


@click.group()
def account() -> None:
    """Your account: delete it."""


@account.command("delete")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
@_yes_option
@json_option
def account_delete(password_stdin: bool, yes: bool, as_json: bool) -> None:
    """Delete your account and everything you wrote, for good, on every device and in every backup.

    Teams where you are the only member are deleted with you. Refused while you are the last owner of a
    team that has other members: transfer ownership (`kibitz team transfer`) or delete the team first.
    Asks for your password (unless --password-stdin) and for confirmation (unless --yes).
    """
    # Standard input's first line is the password, so it is read before any confirmation.
    password = _password(True) if password_stdin else None
    with open_client() as client:
        me = client.me()
        if not yes:
            alone = [t["name"] for t in me["teams"] if len(client.list_members(t["id"])) == 1]
            teams = f" The teams where you are alone go too: {', '.join(alone)}." if alone else ""
            click.confirm(
                f"Delete the account {me['user']['email']} and everything you wrote? This cannot be undone."
                + teams,
                abort=True,
                err=True,
            )
        erasure = client.delete_account(password if password is not None else _password(False))
    # The token died with the account: keeping it would only make every later command fail.
    delete_credentials()
    save_current_team(None)
    if as_json:
        print_json(erasure)
        return
    click.echo(f"Deleted the account {me['user']['email']}; {_describe(erasure)}.")
    click.echo("You are logged out.")


@click.command("delete")
@_yes_option
@json_option
def team_delete(yes: bool, as_json: bool) -> None:
    """Delete the current team and everything in it, for good (owners).

    Asks you to type the team's name unless --yes.
    """
    with open_client() as client:
        chosen = current_team(client)
        team = next((t for t in client.list_teams() if t["id"] == chosen.id), None)
        if team is None:
            raise CliError(f"you are no longer in team {chosen.name}: choose another with `kibitz team use`")
        if not yes:
            typed = click.prompt(
                f"Delete team {team['name']} with every codemark, reply and repository in it? "
                "This cannot be undone. Type its name to confirm",
                err=True,
                default="",
                show_default=False,
            )
            if typed != team["name"]:
                raise CliError("the name does not match; nothing was deleted")
        erasure = client.delete_team(team["id"], team["name"])
    current = load_current_team()
    if current is not None and current.id == team["id"]:
        save_current_team(None)
    if as_json:
        print_json(erasure)
        return
    click.echo(f"Deleted team {team['name']}; {_describe(erasure)}.")


@click.command("erasures")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The server's data directory [default: your user data directory].",
)
@json_option
def server_erasures(data_dir: Path | None, as_json: bool) -> None:
    """List the erasure ledger of the configured database, newest first: what was erased, when, and its state.

    Subjects are named by their ids only; a restore of an older backup replays this ledger.
    """
    from kibitz.cli.main import _settings_problem
    from kibitz.server.operator.database import erasures
    from kibitz.settings import Settings

    try:
        settings = Settings.load(data_dir=data_dir)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    ledger = erasures(settings)
    if as_json:
        print_json([erasure.model_dump(mode="json") for erasure in ledger])
        return
    if not ledger:
        click.echo("No erasure was requested.")
        return
    for erasure in ledger:
        finished = (
            erasure.completed_at.isoformat() if erasure.completed_at else f"due {erasure.due_at.isoformat()}"
        )
        click.echo(
            f"{erasure.id}  {erasure.subject_kind:<4}  {erasure.subject_id}  "
            f"requested {erasure.requested_at.isoformat()}  {erasure.status:<7}  {finished}"
        )


TEAM_COMMANDS: tuple[click.Command, ...] = (team_delete,)
SERVER_COMMANDS: tuple[click.Command, ...] = (server_erasures,)
