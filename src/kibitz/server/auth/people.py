"""People as the API shows them: user rows with their sealed email, name and handle opened.

Every wire form of a person (`user_out`, `user_ref`, `member_out`, a caller) is built from a `Person` made
here, never from a `User` row's sealed columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.server.auth.models import User
from kibitz.server.auth.service import Person
from kibitz.server.crypto.sealer import sealer_of

TABLE = "user_account"


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
