"""Teams: `kibitz team create|join|use|members|invite|delete`, with the administration and security
commands of the modules beside it (`team_admin`, `team_security`) attached to the same group."""

from __future__ import annotations

import click

from kibitz.cli import team_admin, team_invites, team_security
from kibitz.cli.context import ambiguous, current_team, json_option, open_client, print_json, yes_option
from kibitz.cli.errors import NOT_FOUND, CliError
from kibitz.cli.render import erasure_state
from kibitz.cli.terminal import echo, prompt
from kibitz.client import CurrentTeam, load_current_team, save_current_team
from kibitz.ids import is_id_prefix
from kibitz.times import timestamp


@click.group()
def team() -> None:
    """Create, join and choose teams; invite people."""


@team.command("create")
@click.argument("name")
@json_option
def team_create(name: str, as_json: bool) -> None:
    """Create a team (you become its owner) and make it the current team."""
    with open_client() as client:
        created = client.create_team(name)
    save_current_team(CurrentTeam(id=created["id"], name=created["name"]))
    if as_json:
        print_json(created)
        return
    echo(f"Created team {created['name']} ({created['id']}); it is now your current team.")


@team.command("invite")
@click.option(
    "--role",
    type=click.Choice(["member", "admin"]),
    default="member",
    show_default=True,
    help="Role of whoever joins with the code (only owners invite admins).",
)
@json_option
def team_invite(role: str, as_json: bool) -> None:
    """Create an invite code for the current team and print it (it is shown only once)."""
    with open_client() as client:
        current = current_team(client)
        invite = client.create_invite(current.id, role)
    if as_json:
        print_json(invite)
        return
    echo(invite["code"])
    echo(
        f"Invite {invite['id']} to {current.name} as {invite['role']}, "
        f"valid until {timestamp(invite['expires_at'])}. "
        f"Join with: kibitz team join {invite['code']}",
        err=True,
    )


@team.command("join")
@click.argument("code")
@json_option
def team_join(code: str, as_json: bool) -> None:
    """Join a team with an invite code and make it the current team."""
    with open_client() as client:
        joined = client.join_team(code)
    save_current_team(CurrentTeam(id=joined["id"], name=joined["name"]))
    if as_json:
        print_json(joined)
        return
    echo(f"Joined team {joined['name']} as {joined['role']}; it is now your current team.")


@team.command("members")
@json_option
def team_members(as_json: bool) -> None:
    """List the members of the current team."""
    with open_client() as client:
        members = client.list_members(current_team(client).id)
    if as_json:
        print_json(members)
        return
    width = max((len(member["email"]) for member in members), default=0)
    for member in members:
        echo(f"{member['email']:<{width}}  {member['role']:<6}  {member['name']}")


@team.command("use")
@click.argument("name")
@json_option
def team_use(name: str, as_json: bool) -> None:
    """Make the team called NAME (or whose id is, or begins with, NAME) the current team."""
    with open_client() as client:
        teams = client.list_teams()
    matches = [t for t in teams if t["name"] == name] or [t for t in teams if t["id"] == name]
    if not matches and is_id_prefix(name.strip().lower()):
        matches = [t for t in teams if t["id"].startswith(name.strip().lower())]
        if len(matches) > 1:
            raise ambiguous(name, [t["id"] for t in matches])
    if not matches:
        raise CliError(f"you are in no team named {name!r}", NOT_FOUND)
    if len(matches) > 1:
        ids = ", ".join(t["id"] for t in matches)
        raise CliError(f"several of your teams are named {name!r}; give the id instead ({ids})")
    chosen = matches[0]
    save_current_team(CurrentTeam(id=chosen["id"], name=chosen["name"]))
    if as_json:
        print_json(chosen)
        return
    echo(f"Current team: {chosen['name']} ({chosen['id']}).")


@team.command("delete")
@yes_option
@json_option
def team_delete(yes: bool, as_json: bool) -> None:
    """Delete the current team and everything in it, for good (owners).

    Asks you to type the team's name unless --yes.
    """
    with open_client() as client:
        chosen = current_team(client)
        doomed = next((t for t in client.list_teams() if t["id"] == chosen.id), None)
        if doomed is None:
            raise CliError(f"you are no longer in team {chosen.name}: choose another with `kibitz team use`")
        if not yes:
            typed = prompt(
                f"Delete team {doomed['name']} with every codemark, reply and repository in it? "
                "This cannot be undone. Type its name to confirm",
                default="",
            )
            if typed != doomed["name"]:
                raise CliError("the name does not match; nothing was deleted")
        erasure = client.delete_team(doomed["id"], doomed["name"])
    current = load_current_team()
    if current is not None and current.id == doomed["id"]:
        save_current_team(None)
    if as_json:
        print_json(erasure)
        return
    echo(f"Deleted team {doomed['name']}; {erasure_state(erasure)}.")


for _command in (*team_admin.COMMANDS, *team_invites.COMMANDS, *team_security.COMMANDS):
    team.add_command(_command)

COMMANDS: tuple[click.Command, ...] = (team,)
