"""A team's IP allowlist: read it, and replace it (never in a way that locks out the admin saving it)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from kibitz.server.access import address_allowed
from kibitz.server.audit.service import record_audit
from kibitz.server.auth.service import Caller
from kibitz.server.errors import Conflict, NotFound, ValidationFailed
from kibitz.server.teams.models import Team
from kibitz.server.unit_of_work import UnitOfWork

MAX_ENTRIES = 100
# IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are compared as the IPv4 address they carry (addresses.py),
# so a network written in that form could never match anything.
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def normalise_cidrs(entries: Sequence[str]) -> list[str]:
    """Return the entries as normalised CIDRs, repeats dropped; ValidationFailed names each bad one."""
    # Normalised: host bits cleared, a bare address becomes a /32 or /128.
    problems = []
    networks: list[str] = []
    for index, entry in enumerate(entries):
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            problems.append(
                {"loc": ["body", "cidrs", index], "msg": f"{entry!r} is not an IPv4 or IPv6 CIDR"}
            )
            continue
        if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
            problems.append(
                {"loc": ["body", "cidrs", index], "msg": f"{entry!r} is IPv4-mapped: write the IPv4 network"}
            )
            continue
        if str(network) not in networks:
            networks.append(str(network))
    if problems:
        raise ValidationFailed("Some entries are not IPv4 or IPv6 networks.", problems)
    if len(networks) > MAX_ENTRIES:
        raise ValidationFailed(f"An allowlist holds at most {MAX_ENTRIES} networks.")
    return networks


def stored_cidrs(team: Team) -> list[str]:
    """Return the team's allowlist as a list (empty: every address may connect)."""
    return team.allowlist.split()


async def get_team(session: UnitOfWork, team_id: str) -> Team:
    """Return the team row (its access was checked by the caller)."""
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.")
    return team


async def set_allowlist(session: UnitOfWork, caller: Caller, team: Team, entries: Sequence[str]) -> list[str]:
    """Replace the team's allowlist (empty clears it) and return it normalised; 409 if it locks you out."""
    cidrs = normalise_cidrs(entries)
    # An admin cannot save a list that leaves out the address this very request comes from.
    stored = " ".join(cidrs)
    if not address_allowed(stored, caller.address):
        where = caller.address or "unknown"
        raise Conflict(
            f"This allowlist would lock you out: it does not include your address ({where}).",
            {"address": caller.address},
        )
    old = stored_cidrs(team)
    if old == cidrs:
        return cidrs
    team.allowlist = stored
    await session.flush()
    record_audit(
        session,
        "allowlist.changed",
        team_id=team.id,
        actor_id=caller.user.id,
        address=caller.address,
        old=old,
        new=cidrs,
    )
    return cidrs
