"""Wire models of the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel


class AuditActor(BaseModel):
    id: str
    # None when the account no longer exists (the trail outlives it).
    handle: str | None


class AuditEventOut(BaseModel):
    id: str
    at: dt.datetime
    action: str
    # None for refusals of unknown accounts (a failed login with an email nobody has).
    actor: AuditActor | None
    target_id: str | None
    # The client address as the server determined it (forwarded headers only from trusted proxies).
    address: str | None
    # Ids, roles, scopes, CIDRs, reasons; never passwords, tokens, text, code, paths or emails.
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None
