"""Record and read the audit trail (docs/security.md lists the actions)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kibitz.ids import new_id
from kibitz.server.audit.models import AuditEvent
from kibitz.server.db import utcnow

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
        "team.ownership_transferred",
        "allowlist.changed",
        "address.denied",
        "user.disabled",
        "user.enabled",
        "export.made",
        "erasure.requested",
        "erasure.completed",
    }
)


def record_audit(
    session: AsyncSession,
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


async def record_audit_apart(
    sessionmaker: async_sessionmaker[AsyncSession], action: str, **fields: Any
) -> None:
    """Record an audit event in a transaction of its own, for refusals (their request rolls back).

    (The one place outside a request's transaction that commits: a refused login or a denied address must
    leave a trace although the request changes nothing.)
    """
    async with sessionmaker() as session:
        record_audit(session, action, **fields)
        await session.commit()
