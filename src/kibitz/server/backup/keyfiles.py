"""Keystore backups as SQLite files: copied from the live keystore, purged of destroyed owners' keys.

Whatever backend the live keystore uses, its backup is a SQLite file with the keystore's tables, so one code
path purges keys from every backup. The KEK is never in one: a keystore backup alone opens nothing.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from kibitz.server.crypto.keystore import (
    backup_location_table,
    data_key_table,
    destroyed_table,
    keystore_file,
    metadata,
    open_engine,
)
from kibitz.server.db import utcnow
from kibitz.settings import Settings

# SQLAlchemy's SQLite DateTime storage format, so rows written here read back as the keystore's own.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def connect_file(path: Path) -> sqlite3.Connection:
    """Open a keystore SQLite file the way the keystore does: deleted pages overwritten, no WAL copy."""
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    connection.execute("PRAGMA busy_timeout=10000")
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("PRAGMA secure_delete=ON")
    return connection


def copy_sqlite_file(source: Path, target: Path) -> None:
    """Copy a live SQLite database into `target` with the backup API: one consistent snapshot."""
    if not source.is_file():
        raise FileNotFoundError(f"there is no database file at {source}")
    reader = sqlite3.connect(source, timeout=10)
    try:
        reader.execute("PRAGMA busy_timeout=10000")
        writer = sqlite3.connect(target)
        try:
            # pages=-1: one step under one read transaction, so writers committing meanwhile (WAL) are not
            # half-seen; the copy becomes a single self-contained file (no -wal beside it).
            reader.backup(writer, pages=-1)
            writer.execute("PRAGMA journal_mode=DELETE")
        finally:
            writer.close()
    finally:
        reader.close()


def keystore_engine(settings: Settings) -> AsyncEngine | None:
    """Return an engine on the live keystore, or None when there is none (a SQLite file never made)."""
    path = keystore_file(settings)
    if path is not None and not path.is_file():
        return None
    # The server's own engine settings: its writes queue behind the server's instead of failing.
    return open_engine(settings)


async def has_keystore_tables(engine: AsyncEngine) -> bool:
    """Tell whether the keystore database holds the keystore's tables."""
    async with engine.connect() as connection:
        return bool(await connection.run_sync(lambda sync: inspect(sync).has_table(data_key_table.name)))


async def record_location(engine: AsyncEngine, location: Path) -> None:
    """Remember in the keystore that backups were written to `location` (erasure purges them there too)."""
    now = utcnow()
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: backup_location_table.create(sync, checkfirst=True))
        dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(backup_location_table).values(
            path=str(location), first_used_at=now, last_used_at=now
        )
        await connection.execute(
            statement.on_conflict_do_update(index_elements=["path"], set_={"last_used_at": now})
        )


async def recorded_locations(engine: AsyncEngine) -> list[Path]:
    """Return every backup location recorded in the keystore."""
    async with engine.connect() as connection:
        present = await connection.run_sync(lambda sync: inspect(sync).has_table(backup_location_table.name))
        if not present:
            return []
        paths = await connection.scalars(select(backup_location_table.c.path))
        return [Path(path) for path in paths]


async def destroyed_owners(engine: AsyncEngine) -> list[tuple[str, str]]:
    """Return every tombstoned owner of the live keystore."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(destroyed_table.c.owner_kind, destroyed_table.c.owner_id))
        return [(str(kind), str(owner_id)) for kind, owner_id in rows]


async def keystore_rows(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """Read every row of the keystore's tables (a few thousand small rows), for copying into a file."""
    rows: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        for table in metadata.sorted_tables:
            if table.name in names:
                result = await connection.execute(select(table))
                rows[table.name] = [dict(row._mapping) for row in result]
    return rows


def write_rows_file(target: Path, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Write keystore rows (from any backend) into a new SQLite keystore file."""
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
            for table in metadata.sorted_tables:
                if rows.get(table.name):
                    connection.execute(table.insert(), rows[table.name])
    finally:
        engine.dispose()


def purge_file(path: Path, owners: Sequence[tuple[str, str]], *, vacuum: bool = True) -> int:
    """Tombstone `owners` in a keystore backup file and delete every tombstoned owner's keys from it.

    Returns how many key rows were deleted. With secure_delete the deleted rows' bytes are overwritten in
    place; VACUUM then rewrites the file without the freed pages.
    """
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).strftime(_SQLITE_TIME)
    connection = connect_file(path)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT OR IGNORE INTO keystore_destroyed (owner_kind, owner_id, destroyed_at) VALUES (?, ?, ?)",
            [(kind, owner_id, now) for kind, owner_id in owners],
        )
        removed = connection.execute(
            "DELETE FROM keystore_data_key WHERE EXISTS (SELECT 1 FROM keystore_destroyed AS d "
            "WHERE d.owner_kind = keystore_data_key.owner_kind AND d.owner_id = keystore_data_key.owner_id)"
        ).rowcount
        connection.execute("COMMIT")
        if vacuum or removed:
            connection.execute("VACUUM")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()
    return int(removed)
