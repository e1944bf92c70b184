"""`kibitz server backup`: a consistent copy of the database and of the keystore, taken while servers run.

The data first, then the keystore: a key made between the two copies is in the keystore backup (harmless),
never missing from it. After the keystore copy, every owner tombstoned in the live keystore by then is
purged from it too, so an erasure racing a backup cannot leave a key behind (either the erasure's purge sees
the new file, or the backup sees the erasure's tombstone).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kibitz import __version__
from kibitz.server.backup import keyfiles, layout, pgtools
from kibitz.server.crypto.keystore import keystore_file
from kibitz.server.db import make_engine
from kibitz.settings import Settings

SQLITE_PREFIX = "sqlite+aiosqlite:///"


@dataclass(frozen=True)
class BackupResult:
    """What one backup wrote, and which old keystore backups it deleted."""

    location: Path
    stamp: str
    database: str
    alembic_revision: str | None
    data_file: Path
    keystore_file: Path | None
    manifest: Path
    pruned: list[Path] = field(default_factory=list)


def sqlite_database_file(settings: Settings) -> Path | None:
    """Return the SQLite database file of the settings, or None for PostgreSQL."""
    url = settings.sqlalchemy_url()
    return Path(url[len(SQLITE_PREFIX) :]) if url.startswith(SQLITE_PREFIX) else None


def backup_target(settings: Settings, location: Path | None) -> Path:
    """Return the backup directory to use: the given one, else the configured one, as an absolute path."""
    return (location if location is not None else settings.backup_location()).expanduser().resolve()


def _sqlite_revision(path: Path) -> str | None:
    connection = sqlite3.connect(path)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        connection.close()
    return None if row is None else str(row[0])


async def _postgres_revision(settings: Settings) -> str | None:
    engine = make_engine(settings)
    try:
        async with engine.connect() as connection:
            value = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    return None if value is None else str(value)


def _entry(location: Path, path: Path) -> dict[str, object]:
    return {"file": path.relative_to(location).as_posix(), "sha256": layout.sha256_of(path)}


async def backup(settings: Settings, location: Path | None = None) -> BackupResult:
    """Back up the configured database and keystore into `location` (default: the configured one)."""
    target = backup_target(settings, location)
    if not target.exists():
        layout.private_dir(target)
    data_dir = layout.private_dir(target / layout.DATA)
    keystore = keyfiles.keystore_engine(settings)
    try:
        if keystore is not None and not await keyfiles.has_keystore_tables(keystore):
            await keystore.dispose()
            keystore = None
        if keystore is not None:
            # Recorded before anything is written: even a backup interrupted midway is found by erasures.
            await keyfiles.record_location(keystore, target)
        stamp = layout.new_stamp()
        source = sqlite_database_file(settings)
        if source is not None:
            data_file = data_dir / f"{stamp}.db"
            with layout.written_in_place(data_file) as part:
                await asyncio.to_thread(keyfiles.copy_sqlite_file, source, part)
            revision = await asyncio.to_thread(_sqlite_revision, data_file)
        else:
            data_file = data_dir / f"{stamp}.pgdump"
            with layout.written_in_place(data_file) as part:
                await asyncio.to_thread(pgtools.dump, settings.database_url, part)
            revision = await _postgres_revision(settings)
        key_file = None
        if keystore is not None:
            key_file = layout.private_dir(target / layout.KEYSTORE) / f"{stamp}.db"
            await _copy_keystore(settings, keystore, key_file)
    finally:
        if keystore is not None:
            await keystore.dispose()
    manifest = {
        "format": layout.MANIFEST_FORMAT,
        "kibitz_version": __version__,
        "stamp": stamp,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "database": "sqlite" if source is not None else "postgresql",
        "alembic_revision": revision,
        "encrypt_at_rest": settings.encrypt_at_rest,
        "files": {
            "data": _entry(target, data_file),
            "keystore": None if key_file is None else _entry(target, key_file),
        },
    }
    manifest_file = layout.write_manifest(target, stamp, manifest)
    pruned = await prune(settings, target)
    return BackupResult(
        location=target,
        stamp=stamp,
        database=str(manifest["database"]),
        alembic_revision=revision,
        data_file=data_file,
        keystore_file=key_file,
        manifest=manifest_file,
        pruned=pruned,
    )


async def _copy_keystore(settings: Settings, keystore: AsyncEngine, key_file: Path) -> None:
    source = keystore_file(settings)
    with layout.written_in_place(key_file) as part:
        if source is not None:
            await asyncio.to_thread(keyfiles.copy_sqlite_file, source, part)
        else:
            rows = await keyfiles.keystore_rows(keystore)
            await asyncio.to_thread(keyfiles.write_rows_file, part, rows)
        # Owners destroyed while the copy was made: their keys must not survive in it.
        destroyed = await keyfiles.destroyed_owners(keystore)
        await asyncio.to_thread(keyfiles.purge_file, part, destroyed, vacuum=False)


async def prune(settings: Settings, location: Path | None = None) -> list[Path]:
    """Delete keystore backups older than the retention in `location` and every recorded location."""
    locations = [backup_target(settings, location)]
    keystore = keyfiles.keystore_engine(settings)
    if keystore is not None:
        try:
            if await keyfiles.has_keystore_tables(keystore):
                locations += await keyfiles.recorded_locations(keystore)
        finally:
            await keystore.dispose()
    removed: list[Path] = []
    for place in dict.fromkeys(locations):
        removed += await asyncio.to_thread(
            layout.prune_keystore_backups, place, settings.keystore_backup_days
        )
    return removed
