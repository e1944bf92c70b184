"""Team security commands: `kibitz team allowlist [set CIDR...|clear]` and `kibitz team audit`."""

from __future__ import annotations

import click

from kibitz.cli.context import current_team, json_option, open_client, print_json
from kibitz.cli.terminal import echo
from kibitz.client import Allowlist, AuditEvent, CurrentTeam
from kibitz.times import timestamp

# The API's largest page; `--limit` beyond it follows the cursor.
_PAGE = 200


def _show(team: CurrentTeam, allowlist: Allowlist) -> None:
    seen = allowlist["your_address"] or "unknown"
    if not allowlist["cidrs"]:
        echo(f"{team.name} has no allowlist: every address may connect.")
    else:
        count = len(allowlist["cidrs"])
        echo(f"{team.name} accepts requests only from {count} network{'s' if count != 1 else ''}:")
        for cidr in allowlist["cidrs"]:
            echo(f"  {cidr}")
    echo(f"Your address, as the server sees it: {seen}")


@click.group("allowlist", invoke_without_command=True)
@json_option
@click.pass_context
def allowlist(ctx: click.Context, as_json: bool) -> None:
    """Show the current team's IP allowlist (admins); `set` or `clear` it.

    \b
    An allowlist holds IPv4 and IPv6 networks (CIDRs such as 203.0.113.0/24 or 2001:db8::/32); when it
    is not empty, the team's API, web pages and event stream refuse every other address.
    """
    if ctx.invoked_subcommand is not None:
        return
    with open_client() as client:
        team = current_team(client)
        shown = client.get_allowlist(team.id)
    if as_json:
        print_json(shown)
        return
    _show(team, shown)


@allowlist.command("set")
@click.argument("cidrs", nargs=-1, required=True, metavar="CIDR...")
@json_option
def allowlist_set(cidrs: tuple[str, ...], as_json: bool) -> None:
    """Replace the allowlist with CIDR... (refused if it leaves out your own address)."""
    with open_client() as client:
        team = current_team(client)
        saved = client.set_allowlist(team.id, cidrs)
    if as_json:
        print_json(saved)
        return
    _show(team, saved)


@allowlist.command("clear")
@json_option
def allowlist_clear(as_json: bool) -> None:
    """Remove the allowlist: every address may connect again."""
    with open_client() as client:
        team = current_team(client)
        saved = client.set_allowlist(team.id, [])
    if as_json:
        print_json(saved)
        return
    _show(team, saved)


def _line(event: AuditEvent) -> str:
    actor = event["actor"]
    who = "-" if actor is None else f"@{actor['handle']}" if actor["handle"] else actor["id"]
    details = " ".join(f"{key}={value}" for key, value in sorted(event["details"].items()))
    target = f"target={event['target_id']} " if event["target_id"] else ""
    return (
        f"{timestamp(event['at'])}  {event['action']:<26}  {who:<16}  {event['address'] or '-':<15}  "
        f"{target}{details}"
    )


@click.command("audit")
@click.option(
    "--action", help="Only this action (login.failed) or family (login, member, token, allowlist, address)."
)
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="Show at most this many events, newest first.",
)
@json_option
def audit(action: str | None, limit: int, as_json: bool) -> None:
    """Show the current team's audit trail, newest first (admins).

    \b
    Logins of its members, their tokens and password changes, role changes, members joining and leaving,
    allowlist changes and denied addresses; docs/security.md lists every action.
    """
    events: list[AuditEvent] = []
    with open_client() as client:
        team = current_team(client)
        cursor: str | None = None
        while len(events) < limit:
            page = client.audit(team.id, action=action, limit=min(_PAGE, limit - len(events)), cursor=cursor)
            events.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    if as_json:
        print_json(events)
        return
    if not events:
        echo(f"No audit events in {team.name}" + (f" for {action}." if action else "."))
    for event in events:
        echo(_line(event))


COMMANDS = (allowlist, audit)
