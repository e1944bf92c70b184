"""The database, keystore and sealer for operator commands that work without a running server.

`kibitz server user …`, `import`, `backup`, `restore` and the benchmarks open the configured database the
way the server does: migrated, with the keystore attached to the sessions' sealer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from kibitz.server.crypto.binding import bind, refuse_missing_keystore
from kibitz.server.crypto.keystore import Keystore, keystore_file
from kibitz.server.crypto.sealer import Sealer
from kibitz.server.db import make_engine
from kibitz.server.migrate import upgrade
from kibitz.server.unit_of_work import Sessions, make_sessionmaker
from kibitz.settings import Settings


@dataclass
class Opened:
    """An open database with its keystore: what an operator command works on."""

    engine: AsyncEngine
    sessions: Sessions
    sealer: Sealer
    keystore: Keystore | None


def keystore_name(settings: Settings) -> str:
    """Return how messages name the configured keystore: its file, or the setting that points at it."""
    path = keystore_file(settings)
    return str(path) if path is not None else "of KIBITZ_KEYSTORE_URL"


async def attach_keystore(settings: Settings, sealer: Sealer, engine: AsyncEngine) -> Keystore | None:
    """Open the keystore, check it is the database's (`crypto.binding`), and attach it to the sealer.

    Returns it (to close later), or None when encryption is off. Raises KeystoreMismatch, with nothing
    attached, when the keystore does not belong to the database.
    """
    if not settings.encrypt_at_rest:
        return None
    path = keystore_file(settings)
    if path is not None and not path.exists():
        await refuse_missing_keystore(engine, keystore_name(settings))
    keystore = await Keystore.open(settings)
    try:
        await bind(engine, keystore, keystore_name=keystore_name(settings))
    except BaseException:
        await keystore.close()
        raise
    sealer.attach(keystore)
    return keystore


@asynccontextmanager
async def opened(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Opened]:
    """Open (and migrate) the configured database and keystore for one operator command."""
    engine = make_engine(settings)
    keystore: Keystore | None = None
    try:
        if migrate:
            await upgrade(engine)
        sealer = Sealer(enabled=settings.encrypt_at_rest)
        keystore = await attach_keystore(settings, sealer, engine)
        yield Opened(engine, make_sessionmaker(engine, sealer), sealer, keystore)
    finally:
        if keystore is not None:
            await keystore.close()
        await engine.dispose()
