"""The configured database: `kibitz server migrate`, `import FILE` and `erasures`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kibitz.server.db import make_engine
from kibitz.server.erasure.schemas import ErasureOut
from kibitz.server.erasure.service import all_erasures, erasure_out
from kibitz.server.errors import Conflict, InvalidRequest
from kibitz.server.export.importer import ImportSummary, import_team, parse_archive
from kibitz.server.migrate import upgrade
from kibitz.server.offline import opened
from kibitz.server.operator._running import in_transaction
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.settings import Settings


def check_startup(settings: Settings) -> None:
    """Migrate the database and check that the keystore is its own, as the server's start does; close both.

    `kibitz server run` calls it before the server starts, so a keystore that is not the database's
    (KeystoreMismatch) is one line and an exit code rather than a traceback from inside the server's start.
    """

    async def run() -> None:
        async with opened(settings):
            pass

    asyncio.run(run())


def migrate(settings: Settings) -> None:
    """Apply the migrations to the configured database and return."""

    async def run() -> None:
        engine = make_engine(settings)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def import_team_file(settings: Settings, path: Path) -> ImportSummary:
    """Import the team archive in `path` into the configured database (migrated first), all or nothing."""
    try:
        archive = parse_archive(path.read_bytes())
        return in_transaction(settings, lambda session: import_team(session, archive))
    except (InvalidRequest, Conflict) as error:
        # What is wrong with the archive, named by the file the operator gave.
        raise type(error)(f"{path}: {error.message}", error.details) from None


def erasures(settings: Settings) -> list[ErasureOut]:
    """Return the erasure ledger of the configured database, newest first."""

    async def work(session: UnitOfWork) -> list[ErasureOut]:
        return [erasure_out(request) for request in await all_erasures(session)]

    return in_transaction(settings, work)
