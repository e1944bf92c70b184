"""A team's settings page: members and roles, invites, the IP allowlist, code-free mode and the audit trail.

Every member sees the members; the rest is shown to the roles that may change it, and every form is checked
again by the same access layer and services as the API (a form another role posts anyway is refused).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from kibitz.server.access import access_team
from kibitz.server.audit.service import list_audit
from kibitz.server.auth.service import Caller
from kibitz.server.deps import AppState, DbSession, State
from kibitz.server.errors import ValidationFailed
from kibitz.server.teams import allowlist, service
from kibitz.server.teams.models import Membership
from kibitz.server.teams.schemas import InviteOut
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.server.web.flash import flash, forget_flash, take_flash
from kibitz.server.web.pages import page, read_form, see_other
from kibitz.server.web.sessions import SignedIn
from kibitz.server.web.team_context import team_page

router = APIRouter(include_in_schema=False)

AUDIT_PAGE_SIZE = 50
ROLES = ("member", "admin", "owner")
# What the page says after a form did its work (`?done=`): fixed sentences, never text from the request.
DONE = {
    "role": "The role was changed.",
    "removed": "The member was removed.",
    "revoked": "The invite was revoked; its code no longer works.",
    "allowlist": "The allowlist was saved.",
    "code-free": "Code-free mode was changed; it applies to codemarks written from now on.",
}


def _choice(form: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = form.get(name, "")
    if value not in allowed:
        raise ValidationFailed(
            f"Choose one of: {', '.join(allowed)}.", [{"loc": ["form", name], "msg": "not a choice"}]
        )
    return value


async def _settings_page(
    request: Request,
    state: AppState,
    session: UnitOfWork,
    caller: Caller,
    membership: Membership,
    *,
    invite: InviteOut | None = None,
) -> HTMLResponse:
    team_id = membership.team_id
    frame = await team_page(session, membership, "settings")
    admin = frame.may("admin")
    context: dict[str, Any] = {
        "members": [
            service.member_out(m, person) for m, person in await service.list_members(session, team_id)
        ],
        "invites": [],
        "cidrs": [],
        "your_address": caller.address,
        "audit": [],
    }
    if admin:
        found = await service.list_invites(session, team_id)
        context["invites"] = [service.invite_out(row, maker) for row, maker in found]
        context["cidrs"] = allowlist.stored_cidrs(await allowlist.get_team(session, team_id))
        context["audit"], _ = await list_audit(session, team_id, None, 10, None)
    done = request.query_params.get("done", "")
    return page(
        request,
        state,
        caller,
        "settings/settings.html",
        team_id=team_id,
        frame=frame,
        admin=admin,
        owner=frame.may("owner"),
        roles=ROLES,
        invite=invite,
        done=DONE.get(done),
        **context,
    )


@router.get("/t/{team_id}/settings", response_class=HTMLResponse)
async def settings(
    team_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> HTMLResponse:
    """Show the team's members, and to admins its invites, allowlist, code-free mode and latest audit
    (with the code of an invite just made, this once)."""
    membership = await access_team(session, caller, team_id)
    made = take_flash(request, state, _invite_purpose(team_id))
    invite = InviteOut.model_validate(made) if made is not None else None
    response = await _settings_page(request, state, session, caller, membership, invite=invite)
    if made is not None:
        forget_flash(response, request, state)
    return response


def _invite_purpose(team_id: str) -> str:
    return f"new invite of team {team_id}"


@router.post("/t/{team_id}/settings/members/{user_id}/role")
async def change_role(
    team_id: str, user_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> Response:
    """Change a member's role (admins; only owners touch owners)."""
    form = await read_form(request, state)
    actor = await access_team(session, caller, team_id, "admin")
    role = _choice(form, "role", ROLES)
    session.after_commit(functools.partial(state.caches.forget_member, team_id, user_id))
    await service.change_role(session, actor, user_id, role, caller.address)
    return see_other(f"/t/{team_id}/settings?done=role")


@router.post("/t/{team_id}/settings/members/{user_id}/remove")
async def remove_member(
    team_id: str, user_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> Response:
    """Remove a member (admins), or leave the team (yourself)."""
    await read_form(request, state)
    actor = await access_team(session, caller, team_id)
    session.after_commit(functools.partial(state.caches.forget_member, team_id, user_id))
    await service.remove_member(session, actor, user_id, caller.address)
    if user_id == caller.user.id:
        return see_other("/")
    return see_other(f"/t/{team_id}/settings?done=removed")


@router.post("/t/{team_id}/settings/invites")
async def create_invite(
    team_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> Response:
    """Create an invite (admins; only owners invite admins); the settings page shows its code, this once.

    The code goes to that page sealed in a short-lived cookie of this session (kibitz.server.web.flash):
    never in the address, so a reload of the page neither makes another invite nor shows the code again.
    """
    form = await read_form(request, state)
    actor = await access_team(session, caller, team_id, "admin")
    role = _choice(form, "role", ("member", "admin"))
    ttl = dt.timedelta(hours=state.settings.invite_ttl_hours)
    code, row = await service.create_invite(session, caller, actor, role, ttl)
    invite = InviteOut(id=row.id, code=code, role=role, expires_at=row.expires_at)
    response = see_other(f"/t/{team_id}/settings#new-invite")
    flash(response, request, state, _invite_purpose(team_id), invite.model_dump(mode="json"))
    return response


@router.post("/t/{team_id}/settings/invites/{invite_id}/revoke")
async def revoke_invite(
    team_id: str, invite_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> Response:
    """Revoke an unused invite (admins; only owners revoke an invite that makes admins)."""
    await read_form(request, state)
    actor = await access_team(session, caller, team_id, "admin")
    await service.revoke_invite(session, actor, invite_id, caller.address)
    return see_other(f"/t/{team_id}/settings?done=revoked")


@router.post("/t/{team_id}/settings/allowlist")
async def set_allowlist(
    team_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> Response:
    """Replace the team's IP allowlist with the networks of the form, one per line (admins)."""
    form = await read_form(request, state)
    await access_team(session, caller, team_id, "admin")
    entries = form.get("cidrs", "").split()
    if len(entries) > 4 * allowlist.MAX_ENTRIES:
        raise ValidationFailed(f"An allowlist holds at most {allowlist.MAX_ENTRIES} networks.")
    team = await allowlist.get_team(session, team_id)
    await allowlist.set_allowlist(session, caller, team, entries)
    session.after_commit(functools.partial(state.caches.forget_allowlist, team_id))
    return see_other(f"/t/{team_id}/settings?done=allowlist")


@router.post("/t/{team_id}/settings/code-free")
async def set_code_free(
    team_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> Response:
    """Switch the team's code-free mode (admins); it applies to markers written from then on."""
    form = await read_form(request, state)
    await access_team(session, caller, team_id, "admin")
    on = _choice(form, "code_free", ("on", "off")) == "on"
    await service.set_code_free(session, caller, await allowlist.get_team(session, team_id), on)
    return see_other(f"/t/{team_id}/settings?done=code-free")


@router.get("/t/{team_id}/settings/audit", response_class=HTMLResponse)
async def audit(
    team_id: str,
    request: Request,
    session: DbSession,
    caller: SignedIn,
    state: State,
    action: Annotated[str | None, Query(max_length=48)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> HTMLResponse:
    """Show the team's audit trail, newest first, optionally one action or family (admins)."""
    membership = await access_team(session, caller, team_id, "admin")
    events, next_cursor = await list_audit(session, team_id, action or None, AUDIT_PAGE_SIZE, cursor or None)
    return page(
        request,
        state,
        caller,
        "settings/audit.html",
        team_id=team_id,
        frame=await team_page(session, membership, "settings"),
        events=events,
        action=action or "",
        cursor=cursor,
        next_cursor=next_cursor,
    )
