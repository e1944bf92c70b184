"""Record and read the audit trail (docs/security.md lists the actions)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from kibitz.ids import new_id
from kibitz.server.audit.models import AuditEvent
from kibitz.server.audit.schemas import AuditActor, AuditEventOut
from kibitz.server.auth.people import people_by_id
from kibitz.server.db import utcnow
from kibitz.server.errors import ValidationFailed
from kibitz.server.pagination import decode_cursor, encode_cursor
from kibitz.server.teams.models import Membership
from kibitz.server.unit_of_work import UnitOfWork

ACTIONS = frozenset(
    {
        "login.succeeded",
        "login.failed",
        "login.throttled",
        "password.changed",
        "token.created",
        "token.revoked",
        "member.joined",
        "member.removed",
        "member.left",
        "member.role_changed",
        "member.tokens_revoked",
        "invite.revoked",
        "team.ownership_transferred",
        "allowlist.changed",
        "team.code_free_changed",
        "repo.renamed",
        "repo.removed",
        "address.denied",
        "user.disabled",
        "user.enabled",
        "export.made",
        "team.imported",
        "erasure.requested",
        "erasure.completed",
    }
)


def record_audit(
    session: UnitOfWork,
    action: str,
    *,
    team_id: str | None = None,
    actor_id: str | None = None,
    target_id: str | None = None,
    address: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the session's transaction; `details` holds ids, roles, scopes, CIDRs, reasons.

    Never pass passwords, tokens, text, code, paths or emails: the trail is read by admins and kept long.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(
        id=new_id(),
        team_id=team_id,
        actor_id=actor_id,
        action=action,
        target_id=target_id,
        address=address,
        details=json.dumps(details, sort_keys=True, default=str),
        at=utcnow(),
    )
    session.add(event)
    return event


def action_condition(action: str) -> ColumnElement[bool]:
    """Return the filter for `?action=`: an action (`login.failed`) or a family (`login`: every `login.*`)."""
    if action in ACTIONS:
        return AuditEvent.action == action
    if any(name.startswith(action + ".") for name in ACTIONS):
        return AuditEvent.action.startswith(action + ".", autoescape=True)
    raise ValidationFailed(
        f"Unknown action {action!r}.",
        [{"loc": ["query", "action"], "msg": "one of " + ", ".join(sorted(ACTIONS))}],
    )


def team_trail(team_id: str) -> ColumnElement[bool]:
    """Return the condition for what a team's admins see: the team's events, and the account events (logins,
    tokens, password changes) of its current members."""
    members = select(Membership.user_id).where(Membership.team_id == team_id).scalar_subquery()
    return or_(
        AuditEvent.team_id == team_id,
        and_(
            AuditEvent.team_id.is_(None),
            or_(AuditEvent.actor_id.in_(members), AuditEvent.target_id.in_(members)),
        ),
    )


async def list_audit(
    session: UnitOfWork, team_id: str, action: str | None, limit: int, cursor: str | None
) -> tuple[list[AuditEventOut], str | None]:
    """Return one page of a team's audit trail, newest first, and the cursor of the next page."""
    query = select(AuditEvent).where(team_trail(team_id))
    if action:
        query = query.where(action_condition(action))
    if cursor is not None:
        when, last_id = decode_cursor(cursor)
        query = query.where(or_(AuditEvent.at < when, and_(AuditEvent.at == when, AuditEvent.id < last_id)))
    rows = list(
        await session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1))
    )
    next_cursor = encode_cursor(rows[limit - 1].at, rows[limit - 1].id) if len(rows) > limit else None
    page = rows[:limit]
    # Handles are sealed: opened for the actors of this page only.
    people = await people_by_id(session, {e.actor_id for e in page if e.actor_id is not None})
    handles = {user_id: person.handle for user_id, person in people.items()}
    return [audit_out(event, handles.get(event.actor_id or "")) for event in page], next_cursor


def audit_out(event: AuditEvent, handle: str | None) -> AuditEventOut:
    """Return the wire form of an audit event; `handle` is its actor's, if the account still exists."""
    return AuditEventOut(
        id=event.id,
        at=event.at,
        action=event.action,
        actor=AuditActor(id=event.actor_id, handle=handle) if event.actor_id else None,
        target_id=event.target_id,
        address=event.address,
        details=json.loads(event.details or "{}"),
    )
