"""Token and password commands: `kibitz token create|list|revoke` and `kibitz password`."""

from __future__ import annotations

import sys

import click

from kibitz.cli.context import ambiguous, json_option, open_client, print_json, too_short
from kibitz.cli.errors import NOT_FOUND, CliError
from kibitz.cli.terminal import echo, prompt
from kibitz.client import KibitzClient, Token
from kibitz.ids import ID_LENGTH, ID_PREFIX_MIN, is_id_prefix
from kibitz.times import timestamp

SCOPES = ("read", "write", "admin")


@click.group()
def token() -> None:
    """Create, list and revoke API tokens for scripts and CI (and see your login sessions)."""


@token.command("create")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="read",
    show_default=True,
    help="What the token may do: read; write (and read); admin (everything your role allows).",
)
@click.option(
    "--expires",
    "expires_days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    metavar="DAYS",
    help="Days until the token expires (1–3650).",
)
@json_option
def token_create(name: str, scope: str, expires_days: int, as_json: bool) -> None:
    """Create a token called NAME and print it (it is shown only once)."""
    with open_client() as client:
        created = client.create_token(name, scope, expires_days=expires_days)
    if as_json:
        print_json(created)
        return
    echo(created["token"])
    echo(
        f"Token {created['name']} ({created['id']}), scopes {' '.join(created['scopes'])}, "
        f"valid until {timestamp(created['expires_at'])}. Keep it secret: it is not shown again.",
        err=True,
    )


def _line(item: Token) -> str:
    marker = "*" if item["current"] else " "
    state = (
        f"revoked {timestamp(item['revoked_at'])}"
        if item["revoked_at"]
        else f"expires {timestamp(item['expires_at'])}"
    )
    scopes = ",".join(item["scopes"])
    return f"{marker} {item['id']}  {item['kind']:<7}  {scopes:<16}  {state}  {item['name']}"


@token.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include revoked and expired tokens.")
@json_option
def token_list(include_inactive: bool, as_json: bool) -> None:
    """List your tokens and login sessions, newest first; the one in use is marked with *."""
    with open_client() as client:
        tokens = client.list_tokens(include_inactive=include_inactive)
    if as_json:
        print_json(tokens)
        return
    for item in tokens:
        echo(_line(item))


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@json_option
def token_revoke(token_id: str, as_json: bool) -> None:
    """Revoke one of your tokens or login sessions by its id or its beginning (see `kibitz token list`)."""
    with open_client() as client:
        token_id = _token_id(client, token_id.strip().lower())
        client.revoke_token(token_id)
    if as_json:
        print_json({"id": token_id, "revoked": True})
        return
    echo(f"Revoked {token_id}.")


def _token_id(client: KibitzClient, value: str) -> str:
    """Return the id of your token or session that ``value`` is, or is the beginning of."""
    if 0 < len(value) < ID_PREFIX_MIN:
        raise too_short(value)
    if len(value) >= ID_LENGTH or not is_id_prefix(value):
        return value
    found = [item["id"] for item in client.list_tokens(include_inactive=True) if item["id"].startswith(value)]
    if not found:
        raise CliError(f"none of your tokens or sessions has an id that begins with {value!r}", NOT_FOUND)
    if len(found) > 1:
        raise ambiguous(value, found)
    return found[0]


def _read_passwords(from_stdin: bool) -> tuple[str, str]:
    if from_stdin:
        current = sys.stdin.readline().rstrip("\r\n")
        new = sys.stdin.readline().rstrip("\r\n")
        if not current or not new:
            raise CliError("expected the current password and the new one on two lines of standard input")
        return current, new
    # Prompts go to stderr so that stdout carries only the command's output.
    current = str(prompt("Current password", hide_input=True))
    new = str(prompt("New password", hide_input=True, confirmation_prompt=True))
    return current, new


@click.command()
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the current password from the first line of standard input and the new one from the second.",
)
@json_option
def password(password_stdin: bool, as_json: bool) -> None:
    """Change your password (12–128 characters); your other login sessions end, named tokens stay."""
    current, new = _read_passwords(password_stdin)
    with open_client() as client:
        ended = client.change_password(current, new)
    if as_json:
        print_json({"sessions_ended": ended})
        return
    others = "session" if ended == 1 else "sessions"
    echo(f"Password changed; {ended} other login {others} ended.")


COMMANDS: tuple[click.Command, ...] = (token, password)
