"""Alembic migrations, applied on start and by `kibitz server migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number: processes starting together against one PostgreSQL take turns on this lock.
_PG_MIGRATION_LOCK = 0x6B6962697A


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    command.upgrade(alembic_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database schema to the newest revision."""
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
        return
    async with engine.connect() as connection:
        # SQLite changes a column by copying its table and dropping the old one; with foreign keys on, that
        # DROP would cascade and delete every row that refers to the table (a user's memberships, tokens,
        # ...). The pragma only takes effect outside a transaction, so it is set before the migration's
        # transaction begins and restored after it; the check then proves no reference was left dangling.
        await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(_upgrade)
                dangling = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if dangling:
                    raise RuntimeError(f"the migration left {len(dangling)} rows with dangling references")
        finally:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()
