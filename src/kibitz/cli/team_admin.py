"""Team administration: `kibitz team remove EMAIL`, `team role EMAIL ROLE`, `team transfer EMAIL`,
`team code-free on|off`.

Attached to the `team` group by ``kibitz.cli.team``; the server decides who may do what (docs/security.md).
"""

from __future__ import annotations

import click

from kibitz.cli.context import current_team, json_option, open_client, print_json, yes_option
from kibitz.cli.errors import NOT_FOUND, CliError
from kibitz.cli.terminal import confirm, echo
from kibitz.client import KibitzClient, Member, load_current_team, save_current_team

ROLES = ("member", "admin", "owner")


def find_member(client: KibitzClient, team_id: str, email: str) -> Member:
    """Return the team's member with this email (compared case-insensitively); exit 4 if there is none."""
    wanted = email.strip().lower()
    for member in client.list_members(team_id):
        if member["email"].lower() == wanted:
            return member
    raise CliError(f"no member of this team has the email {email!r}", NOT_FOUND)


@click.command("remove")
@click.argument("email")
@yes_option
@json_option
def team_remove(email: str, yes: bool, as_json: bool) -> None:
    """Remove the member with EMAIL from the current team (your own email: leave the team)."""
    with open_client() as client:
        team = current_team(client)
        member = find_member(client, team.id, email)
        leaving = member["user_id"] == client.me()["user"]["id"]
        question = (
            f"Leave team {team.name}? You lose access at once; rejoining needs a new invite."
            if leaving
            else f"Remove {member['email']} ({member['role']}) from team {team.name}? "
            "Their access ends at once."
        )
        if not yes:
            confirm(question, abort=True)
        client.remove_member(team.id, member["user_id"])
    if leaving:
        current = load_current_team()
        if current is not None and current.id == team.id:
            save_current_team(None)
    if as_json:
        print_json({**member, "removed": True, "left": leaving})
    elif leaving:
        echo(f"You left team {team.name}; you have no current team now.")
    else:
        echo(f"Removed {member['email']} from team {team.name}.")


@click.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@json_option
def team_role(email: str, role: str, as_json: bool) -> None:
    """Give the member with EMAIL the ROLE member, admin or owner in the current team."""
    with open_client() as client:
        team = current_team(client)
        member = find_member(client, team.id, email)
        changed = client.update_member(team.id, member["user_id"], role)
    if as_json:
        print_json({**changed, "previous_role": member["role"]})
    elif changed["role"] == member["role"]:
        echo(f"{changed['email']} is already {changed['role']} in team {team.name}.")
    else:
        echo(f"{changed['email']} is now {changed['role']} in team {team.name} (was {member['role']}).")


@click.command("transfer")
@click.argument("email")
@yes_option
@json_option
def team_transfer(email: str, yes: bool, as_json: bool) -> None:
    """Make the member with EMAIL the owner of the current team; you become an admin."""
    with open_client() as client:
        team = current_team(client)
        member = find_member(client, team.id, email)
        if not yes:
            confirm(
                f"Make {member['email']} the owner of team {team.name}? You become an admin.",
                abort=True,
            )
        owner = client.transfer_ownership(team.id, member["user_id"])
    if as_json:
        print_json(owner)
        return
    echo(f"{member['email']} now owns team {team.name}; you are an admin.")


@click.command("code-free")
@click.argument("state", type=click.Choice(("on", "off")))
@json_option
def team_code_free(state: str, as_json: bool) -> None:
    """Turn the current team's code-free mode on or off (admins): new markers keep no code on the server."""
    with open_client() as client:
        team = current_team(client)
        changed = client.set_code_free(team.id, state == "on")
    if as_json:
        print_json(changed)
        return
    now = "on" if changed["code_free"] else "off"
    echo(f"Code-free mode is {now} in team {team.name}.")


COMMANDS: tuple[click.Command, ...] = (team_remove, team_role, team_transfer, team_code_free)
