"""Invites of the current team: `kibitz team invites` (list) and `kibitz team revoke-invite ID`.

Attached to the `team` group by ``kibitz.cli.team``; admins only, the server decides (docs/security.md).
"""

from __future__ import annotations

import click

from kibitz.cli.context import current_team, json_option, open_client, pick_by_prefix, print_json
from kibitz.cli.terminal import echo
from kibitz.client import PendingInvite
from kibitz.ids import is_id


def _state(invite: PendingInvite) -> str:
    if invite["used_at"] is not None:
        return f"used {invite['used_at']}"
    return f"expires {invite['expires_at']}"


@click.command("invites")
@click.option("--all", "include_inactive", is_flag=True, help="Include used and expired invites.")
@json_option
def team_invites(include_inactive: bool, as_json: bool) -> None:
    """List the current team's pending invites, newest first (admins; codes are never shown again)."""
    with open_client() as client:
        invites = client.list_invites(current_team(client).id, include_inactive=include_inactive)
    if as_json:
        print_json(invites)
        return
    if not invites:
        echo("No pending invites.", err=True)
    for invite in invites:
        maker = invite["created_by"]["email"]
        echo(f"{invite['id']}  {invite['role']:<6}  {_state(invite)}  by {maker}")


@click.command("revoke-invite")
@click.argument("invite_id", metavar="ID")
@json_option
def team_revoke_invite(invite_id: str, as_json: bool) -> None:
    """Revoke an unused invite of the current team by its id (see `kibitz team invites`): its code stops
    working at once."""
    with open_client() as client:
        team_id = current_team(client).id
        if not is_id(invite_id.strip()):
            # The first characters of an id, as `kibitz team invites` shows them.
            pending = [invite["id"] for invite in client.list_invites(team_id)]
            invite_id = pick_by_prefix(invite_id, pending, "pending invite")
        client.revoke_invite(team_id, invite_id.strip())
    if as_json:
        print_json({"id": invite_id, "revoked": True})
        return
    echo(f"Revoked invite {invite_id}.")


COMMANDS: tuple[click.Command, ...] = (team_invites, team_revoke_invite)
