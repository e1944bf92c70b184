"""HTTP routes of the audit trail (docs/security.md, "Audit trail")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kibitz.server.access import access_team
from kibitz.server.audit.schemas import AuditPage
from kibitz.server.audit.service import list_audit
from kibitz.server.deps import CurrentCaller, DbSession
from kibitz.server.pagination import MAX_LIMIT

router = APIRouter(tags=["audit"])


@router.get("/teams/{team_id}/audit")
async def team_audit(
    team_id: str,
    session: DbSession,
    caller: CurrentCaller,
    action: Annotated[
        str | None, Query(max_length=48, description="An action, or a family such as `login`.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AuditPage:
    """Return the team's audit trail, newest first: its events and its members' account events."""
    await access_team(session, caller, team_id, "admin")
    items, next_cursor = await list_audit(session, team_id, action, limit, cursor)
    return AuditPage(items=items, next_cursor=next_cursor)
