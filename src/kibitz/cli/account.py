"""Your account: `kibitz signup`, `login`, `logout`, `whoami` and `account delete`."""

from __future__ import annotations

import click

from kibitz.cli.context import (
    client_for,
    json_option,
    open_client,
    password_stdin_option,
    print_json,
    read_password,
    yes_option,
)
from kibitz.cli.errors import CliError, describe, exit_code_for
from kibitz.cli.render import erasure_state
from kibitz.cli.terminal import confirm, echo
from kibitz.client import (
    ConnectionFailed,
    Credentials,
    LoginResult,
    NotAuthenticated,
    delete_credentials,
    load_credentials,
    load_current_team,
    resolve_server,
    resolve_token,
    save_credentials,
    save_current_team,
)


def _store_login(server: str, result: LoginResult) -> None:
    """Keep the new token; forget the current team if it belonged to another account or server."""
    server = server.strip().rstrip("/")
    email = result["user"]["email"]
    previous = load_credentials()
    if previous is None or previous.server != server or previous.email.lower() != email.lower():
        save_current_team(None)
    save_credentials(Credentials(server=server, token=result["token"], email=email))


_server_option = click.option(
    "--server",
    required=True,
    envvar="KIBITZ_SERVER",
    show_envvar=True,
    metavar="URL",
    help="Server URL, e.g. http://127.0.0.1:8383.",
)


@click.command()
@_server_option
@click.option("--email", required=True, help="Your email address (your login).")
@click.option("--name", required=True, help="Your display name.")
@click.option("--handle", help="What teammates type after @ to mention you [default: from your email].")
@click.option("--invite", metavar="CODE", help="A team's invite code: join that team as you sign up.")
@password_stdin_option
@json_option
def signup(
    server: str,
    email: str,
    name: str,
    handle: str | None,
    invite: str | None,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Create an account on a server and log in to it.

    Asks for a password (12–128 characters, not easy to guess) twice unless --password-stdin is given.
    A server that takes new accounts by invitation only needs --invite.
    """
    password = read_password(password_stdin, confirm=True)
    with client_for(server) as client:
        user = client.signup(email, name, password, handle=handle, invite=invite)
        result = client.login(email, password)
    _store_login(server, result)
    if as_json:
        print_json(user)
        return
    mention = f" (mention: @{user['handle']})" if user.get("handle") else ""
    echo(f"Signed up and logged in as {result['user']['email']}{mention} on {client.server_url}.")


@click.command()
@_server_option
@click.option("--email", required=True, help="Your email address.")
@password_stdin_option
@json_option
def login(server: str, email: str, password_stdin: bool, as_json: bool) -> None:
    """Log in to a server and store the API token (in a file only you can read)."""
    password = read_password(password_stdin, confirm=False)
    with client_for(server) as client:
        result = client.login(email, password)
    _store_login(server, result)
    if as_json:
        # Never the token: it is stored, and stdout may end up in a log.
        print_json({"user": result["user"], "expires_at": result["expires_at"]})
        return
    echo(f"Logged in as {result['user']['email']} on {client.server_url}.")


def _forget_login() -> None:
    delete_credentials()
    save_current_team(None)


@click.command()
@json_option
def logout(as_json: bool) -> None:
    """Revoke the API token on the server and forget it locally."""
    server, token = resolve_server(), resolve_token()
    if not server or not token:
        delete_credentials()
        if as_json:
            print_json({"logged_out": False})
        else:
            echo("Not logged in.")
        return
    try:
        with client_for(server, token) as client:
            client.logout()
    except NotAuthenticated:
        pass  # Already expired or revoked: forgetting it is all that is left to do.
    except ConnectionFailed as error:
        # Forget the token anyway, but say plainly that it still works on the server.
        _forget_login()
        message = f"{describe(error)}; the token was forgotten here but NOT revoked"
        raise CliError(message, exit_code_for(error)) from None
    _forget_login()
    if as_json:
        print_json({"logged_out": True})
        return
    echo("Logged out.")


@click.command()
@json_option
def whoami(as_json: bool) -> None:
    """Show who you are logged in as, on which server, and your teams."""
    with open_client() as client:
        me = client.me()
        server = client.server_url
    current = load_current_team()
    if as_json:
        print_json(
            {
                "server": server,
                "user": me["user"],
                "teams": me["teams"],
                "current_team": {"id": current.id, "name": current.name} if current else None,
            }
        )
        return
    user = me["user"]
    echo(f"{user['name']} <{user['email']}> on {server}")
    for team in me["teams"]:
        marker = "*" if current and current.id == team["id"] else " "
        echo(f"{marker} {team['name']}  ({team['role']})")
    if not me["teams"]:
        echo("No team yet: `kibitz team create NAME` or `kibitz team join CODE`.")


@click.group()
def account() -> None:
    """Your account: delete it."""


@account.command("delete")
@password_stdin_option
@yes_option
@json_option
def account_delete(password_stdin: bool, yes: bool, as_json: bool) -> None:
    """Delete your account and everything you wrote, for good, on every device and in every backup.

    Teams where you are the only member are deleted with you. Refused while you are the last owner of a
    team that has other members: transfer ownership (`kibitz team transfer`) or delete the team first.
    Asks for your password (unless --password-stdin) and for confirmation (unless --yes).
    """
    # Standard input's first line is the password, so it is read before any confirmation.
    password = read_password(True, confirm=False) if password_stdin else None
    with open_client() as client:
        me = client.me()
        if not yes:
            alone = [t["name"] for t in me["teams"] if len(client.list_members(t["id"])) == 1]
            teams = f" The teams where you are alone go too: {', '.join(alone)}." if alone else ""
            confirm(
                f"Delete the account {me['user']['email']} and everything you wrote? This cannot be undone."
                + teams,
                abort=True,
            )
        erasure = client.delete_account(
            password if password is not None else read_password(False, confirm=False)
        )
    # The token died with the account: keeping it would only make every later command fail.
    delete_credentials()
    save_current_team(None)
    if as_json:
        print_json(erasure)
        return
    echo(f"Deleted the account {me['user']['email']}; {erasure_state(erasure)}.")
    echo("You are logged out.")


COMMANDS: tuple[click.Command, ...] = (signup, login, logout, whoami, account)
