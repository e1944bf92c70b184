"""People as the API shows them: user rows with their sealed email, name and handle opened.

Every wire form of a person (`user_out`, `user_ref`, `member_out`, a caller) is built from a `Person` made
here, never from a `User` row's sealed columns. Never assign an opened value back onto a `User` row: the
row would be flushed with the plaintext.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select

from kibitz.server.auth.models import User
from kibitz.server.crypto.blind_index import normalise_email as normalise_email_for_index
from kibitz.server.crypto.sealer import GLOBAL_SCOPE, user_owner
from kibitz.server.teams.models import Membership
from kibitz.server.unit_of_work import UnitOfWork

# Blind-index purposes (GLOBAL_SCOPE): login and mentions by email, mentions and uniqueness by handle.
EMAIL_PURPOSE = "user.email"
HANDLE_PURPOSE = "user.handle"


@dataclass(frozen=True)
class Person:
    """A snapshot of a user with opened values, safe to keep beyond the session that loaded it."""

    id: str
    email: str
    name: str
    handle: str
    created_at: dt.datetime


def normalise_email(email: str) -> str:
    """Return the form of an email address that is stored (sealed) and shown."""
    return email.strip().lower()


async def email_index(session: UnitOfWork, email: str) -> str:
    """Return the blind index of an email address (normalised first)."""
    return await session.sealer.index(GLOBAL_SCOPE, EMAIL_PURPOSE, normalise_email_for_index(email))


async def handle_index(session: UnitOfWork, handle: str) -> str:
    """Return the blind index of a handle (handles are stored and compared as given)."""
    return await session.sealer.index(GLOBAL_SCOPE, HANDLE_PURPOSE, handle)


async def seal_profile(session: UnitOfWork, user: User, *, email: str, name: str, handle: str) -> None:
    """Seal a profile's email, name and handle into a user row (its id set) and set both blind indexes."""
    sealer = session.sealer
    owner = user_owner(user.id)
    email = normalise_email(email)
    user.email = await sealer.seal(owner, email, User.email, row=user.id)
    user.name = await sealer.seal(owner, name, User.name, row=user.id)
    user.handle = await sealer.seal(owner, handle, User.handle, row=user.id)
    user.email_index = await email_index(session, email)
    user.handle_index = await handle_index(session, handle)


async def user_by_email(session: UnitOfWork, email: str) -> User | None:
    """Return the user with this email address (compared normalised, through its blind index), if any."""
    index = await email_index(session, email)
    return (await session.execute(select(User).where(User.email_index == index))).scalar_one_or_none()


async def handle_taken(session: UnitOfWork, handle: str) -> bool:
    """Tell whether some account has this handle."""
    index = await handle_index(session, handle)
    return await session.scalar(select(User.id).where(User.handle_index == index)) is not None


async def free_handle(session: UnitOfWork, wanted: str, limit: int = 32) -> str:
    """Return `wanted` if no account has it, else the first free one of wanted2, wanted3, …

    Handles are sealed, so candidates are tested by their blind indexes, a batch per query.
    """
    batch = 50
    for start in range(1, 10_000, batch):
        candidates = [
            wanted if n == 1 else wanted[: limit - len(str(n))] + str(n) for n in range(start, start + batch)
        ]
        by_index = {await handle_index(session, c): c for c in candidates}
        taken = set(await session.scalars(select(User.handle_index).where(User.handle_index.in_(by_index))))
        for index, candidate in by_index.items():
            if index not in taken:
                return candidate
    raise RuntimeError("no free handle")  # 10,000 accounts share one handle's stem: not a real case


async def members_by_mention(session: UnitOfWork, team_id: str, names: Sequence[str]) -> dict[str, str]:
    """Map each mentioned name (an email or a handle) that names a member of the team to the member's id."""
    by_index: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):
        by_index.setdefault(await email_index(session, name), []).append(name)
        by_index.setdefault(await handle_index(session, name), []).append(name)
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
            for name in by_index.get(index, ()):
                found[name] = user_id
    return found


async def person_of(session: UnitOfWork, user: User) -> Person:
    """Return the opened snapshot of a user row."""
    sealer = session.sealer
    return Person(
        id=user.id,
        email=await sealer.open(user.email, User.email, row=user.id),
        name=await sealer.open(user.name, User.name, row=user.id),
        handle=await sealer.open(user.handle, User.handle, row=user.id),
        created_at=user.created_at,
    )


async def people_of(session: UnitOfWork, users: Sequence[User]) -> dict[str, Person]:
    """Return the opened snapshots of user rows, by id."""
    return {user.id: await person_of(session, user) for user in users}


_USERS_BY_ID = select(User).where(User.id.in_(bindparam("ids", expanding=True)))


async def people_by_id(session: UnitOfWork, ids: Iterable[str]) -> dict[str, Person]:
    """Load users by id and return their opened snapshots (unknown ids are left out)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Person] = {}
    # Chunked: far below SQLite's and asyncpg's limits on bound parameters.
    for start in range(0, len(wanted), 500):
        users = list(await session.scalars(_USERS_BY_ID, {"ids": wanted[start : start + 500]}))
        found.update(await people_of(session, users))
    return found
