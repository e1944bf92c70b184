"""People as the API shows them: user rows with their sealed email, name and handle opened.

Every wire form of a person (`user_out`, `user_ref`, `member_out`, a caller) is built from a `Person` made
here, never from a `User` row's sealed columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.server.auth.models import User
from kibitz.server.auth.service import Person, normalise_email
from kibitz.server.crypto.sealer import GLOBAL_SCOPE, sealer_of
from kibitz.server.teams.models import Membership

TABLE = "user_account"
# Blind-index purposes (GLOBAL_SCOPE): login and mentions by email, mentions and uniqueness by handle.
EMAIL_PURPOSE = "user.email"
HANDLE_PURPOSE = "user.handle"


async def email_index(session: AsyncSession, email: str) -> str:
    """Return the blind index of an email address (normalised first)."""
    return await sealer_of(session).index(GLOBAL_SCOPE, EMAIL_PURPOSE, normalise_email(email))


async def handle_index(session: AsyncSession, handle: str) -> str:
    """Return the blind index of a handle (handles are stored and compared as given)."""
    return await sealer_of(session).index(GLOBAL_SCOPE, HANDLE_PURPOSE, handle)


async def members_by_mention(session: AsyncSession, team_id: str, names: Sequence[str]) -> dict[str, str]:
    """Map each mentioned name (an email or a handle) that names a member of the team to the member's id."""
    by_index: dict[str, str] = {}
    for name in dict.fromkeys(names):
        by_index[await email_index(session, name)] = name
        by_index[await handle_index(session, name)] = name
    if not by_index:
        return {}
    rows = await session.execute(
        select(User.id, User.email_index, User.handle_index)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.team_id == team_id,
            or_(User.email_index.in_(list(by_index)), User.handle_index.in_(list(by_index))),
        )
    )
    found: dict[str, str] = {}
    for user_id, email_ix, handle_ix in rows:
        for index in (email_ix, handle_ix):
            if index in by_index:
                found[by_index[index]] = user_id
    return found


async def person_of(session: AsyncSession, user: User) -> Person:
    """Return the opened snapshot of a user row."""
    sealer = sealer_of(session)
    return Person(
        id=user.id,
        email=await sealer.open(user.email, table=TABLE, column="email", row=user.id),
        name=await sealer.open(user.name, table=TABLE, column="name", row=user.id),
        handle=await sealer.open(user.handle, table=TABLE, column="handle", row=user.id),
        created_at=user.created_at,
    )


async def people_of(session: AsyncSession, users: Sequence[User]) -> dict[str, Person]:
    """Return the opened snapshots of user rows, by id."""
    return {user.id: await person_of(session, user) for user in users}


async def people_by_id(session: AsyncSession, ids: Iterable[str]) -> dict[str, Person]:
    """Load users by id and return their opened snapshots (unknown ids are left out)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    users = list(await session.scalars(select(User).where(User.id.in_(wanted))))
    return await people_of(session, users)
