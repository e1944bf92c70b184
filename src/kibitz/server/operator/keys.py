"""The keys: `kibitz server rotate-kek`, `rotate-team-keys` and `keystore-info`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from kibitz.server.crypto import rotation
from kibitz.server.crypto.keystore import Keystore, KeystoreInfo
from kibitz.server.errors import KekUnusable
from kibitz.server.offline import opened
from kibitz.server.teams.models import Team
from kibitz.settings import Settings


def rotate_kek(settings: Settings, *, new_kek_file: Path | None = None) -> rotation.RotationResult:
    """Rewrap every data key with a new KEK (from `new_kek_file`, else new), then make it the KEK file."""
    return asyncio.run(rotation.rotate_kek(settings, new_kek_file=new_kek_file))


def keystore_info(settings: Settings) -> KeystoreInfo:
    """Return the configured keystore's counts (opening it with the configured KEK)."""

    async def run() -> KeystoreInfo:
        keystore = await Keystore.open(settings)
        try:
            return await keystore.info()
        finally:
            await keystore.close()

    return asyncio.run(run())


def team_ids_beginning(settings: Settings, prefix: str, *, at_most: int = 10) -> list[str]:
    """Return the ids of teams that begin with `prefix` (for commands that take an id's first characters)."""

    async def run() -> list[str]:
        async with opened(settings) as db, db.sessions() as session:
            found = await session.scalars(
                select(Team.id)
                .where(Team.id.startswith(prefix, autoescape=True))
                .order_by(Team.id)
                .limit(at_most)
            )
            return list(found)

    return asyncio.run(run())


def rotate_team_keys(settings: Settings, team_id: str, *, reseal: bool = False) -> rotation.TeamRotation:
    """Give a team's data keys new ones in the configured keystore; with `reseal`, rewrite old values."""

    async def run() -> rotation.TeamRotation:
        async with opened(settings) as db:
            if db.keystore is None:
                raise KekUnusable(
                    "encryption at rest is off (a switch of test suites and benchmarks): no keys to rotate"
                )
            return await rotation.rotate_team(db.sessions, db.keystore, team_id, reseal=reseal)

    return asyncio.run(run())
