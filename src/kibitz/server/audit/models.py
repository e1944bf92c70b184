"""The audit trail: security events that admins can read (who, what, from where; never content or secrets)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """One security event. `team_id` is empty for account events (logins, tokens) that belong to no team."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_team_at", "team_id", "at"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    # No foreign keys: the trail outlives what it mentions (a removed member, a deleted token).
    team_id: Mapped[str | None] = mapped_column(String(16), default=None)
    actor_id: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    action: Mapped[str] = mapped_column(String(48))
    target_id: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    # The client address as the server determined it (forwarded headers only from trusted proxies).
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    # JSON object with ids, roles, scopes, CIDRs, reasons — never passwords, tokens, text, code or paths.
    details: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
