"""Database plumbing: the declarative base, the engine factory and a UTC time column type."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from kibitz.server.sqlite_driver import use_inline_connections
from kibitz.server.storage import private_database_file, private_directory
from kibitz.server.wal_checkpoints import WAL_BACKSTOP_PAGES
from kibitz.settings import Settings

# Stable constraint names so that migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every table."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Store naive UTC, hand back aware UTC: SQLite keeps no time zone, PostgreSQL would convert."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """Return the current time in UTC."""
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits (writers wait as sqlite_driver.py says).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted rows and freed pages are overwritten with zeros, so an erased row's bytes do not linger in the
    # file's free space (`checkpoint_wal` then clears the copies in the write-ahead log).
    cursor.execute("PRAGMA secure_delete=ON")
    # The server checkpoints the log in the background (wal_checkpoints.py); a commit does only past this.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
    cursor.close()


async def checkpoint_wal(sessions: async_sessionmaker[Any]) -> None:
    """On SQLite, copy the write-ahead log into the database file and empty it (after an erasure).

    The log keeps the pages as they were before a deletion until a checkpoint; TRUNCATE leaves it empty.
    PostgreSQL keeps no such copy in its tables' files (its own WAL is outside what Kibitz manages).
    """
    async with sessions() as session:
        connection = await session.connection()
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def sqlite_file(settings: Settings) -> Path | None:
    """Return the SQLite database's file, or None (PostgreSQL, or SQLite in memory)."""
    url = settings.sqlalchemy_url()
    if not settings.is_sqlite or ":///" not in url:
        return None
    database = url.split(":///", 1)[1]
    return Path(database) if database and database != ":memory:" else None


def make_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for the configured database (SQLite in the data directory by default)."""
    # hide_parameters: a database error's message (which may reach a log) must not quote text or code.
    url = settings.sqlalchemy_url()
    if settings.is_sqlite:
        private_directory(settings.data_dir)
        database = sqlite_file(settings)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
            private_database_file(database)
        engine = create_async_engine(url, connect_args={"timeout": 10}, hide_parameters=True)
        use_inline_connections(engine)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)
