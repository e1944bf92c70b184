"""Accounts on the configured database: `kibitz server user disable|enable|set-password` and `erasures`."""

from __future__ import annotations

from pathlib import Path

import click

from kibitz.cli.context import json_option, password_stdin_option, print_json, read_password
from kibitz.cli.server_settings import data_dir_option, load_settings
from kibitz.cli.terminal import echo
from kibitz.times import timestamp


@click.group("user")
def server_user() -> None:
    """Disable or enable accounts, or set a password, directly on the configured database (operators)."""


def _set_user_status(email: str, status: str, data_dir: Path | None, as_json: bool) -> None:
    from kibitz.server.operator.accounts import set_user_status

    settings = load_settings(data_dir=data_dir)
    changed, revoked = set_user_status(settings, email, status)
    if as_json:
        print_json({"email": email, "status": status, "changed": changed, "revoked": revoked})
    elif not changed:
        echo(f"{email} is already {status}.")
    elif status == "disabled":
        echo(f"Disabled {email}; {revoked} tokens and sessions revoked, open streams close within a second.")
    else:
        echo(f"Enabled {email}; they can log in again.")


@server_user.command("disable")
@click.argument("email")
@data_dir_option
@json_option
def server_user_disable(email: str, data_dir: Path | None, as_json: bool) -> None:
    """Disable the account with EMAIL: it cannot log in, and its tokens and sessions are revoked."""
    _set_user_status(email, "disabled", data_dir, as_json)


@server_user.command("enable")
@click.argument("email")
@data_dir_option
@json_option
def server_user_enable(email: str, data_dir: Path | None, as_json: bool) -> None:
    """Enable the account with EMAIL again (its old tokens stay revoked: the person logs in afresh)."""
    _set_user_status(email, "active", data_dir, as_json)


@server_user.command("set-password")
@click.argument("email")
@password_stdin_option
@data_dir_option
@json_option
def server_user_set_password(email: str, password_stdin: bool, data_dir: Path | None, as_json: bool) -> None:
    """Set the password of the account with EMAIL; an account made by `server import` becomes active.

    Its login sessions end; a disabled account stays disabled. Tell the person the password and ask them
    to change it with `kibitz password`.
    """
    from kibitz.server.operator.accounts import set_password

    settings = load_settings(data_dir=data_dir)
    password = read_password(password_stdin, confirm=True)
    activated, ended = set_password(settings, email, password)
    if as_json:
        print_json({"email": email, "activated": activated, "sessions_ended": ended})
        return
    state = "; the imported account is active now" if activated else ""
    echo(f"Set the password of {email}{state}; {ended} login sessions ended.")


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
    from kibitz.server.operator.database import erasures

    settings = load_settings(data_dir=data_dir)
    ledger = erasures(settings)
    if as_json:
        print_json([erasure.model_dump(mode="json") for erasure in ledger])
        return
    if not ledger:
        echo("No erasure was requested.")
        return
    for erasure in ledger:
        finished = (
            timestamp(erasure.completed_at) if erasure.completed_at else f"due {timestamp(erasure.due_at)}"
        )
        echo(
            f"{erasure.id}  {erasure.subject_kind:<4}  {erasure.subject_id}  "
            f"requested {timestamp(erasure.requested_at)}  {erasure.status:<7}  {finished}"
        )


COMMANDS: tuple[click.Command, ...] = (server_user, server_erasures)
