"""`kibitz server restore`: a backup into a new data directory, with every erasure since replayed.

Data backups are kept long; keystore backups at most 7 days, and erasures purge destroyed keys from them.
So the newest keystore backup decides what survives: after copying the newest data backup and that
keystore, and migrating, every row holding a value sealed with a key the keystore lacks (destroyed, or
never there) is deleted — an event is redacted instead, so the log stays gap-free — and every user, team
and membership tombstoned in the keystore is deleted with what cascades from it.

It belongs to the operator layer, above the backups it reads and the erasure whose statements it replays:
inside the backup package it made backups and erasure import each other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, inspect, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

import kibitz.server.models  # noqa: F401  (every table registered, so the foreign keys between them resolve)
from kibitz.server.auth.models import User
from kibitz.server.backup import keyfiles, layout, pgtools
from kibitz.server.backup.backup import sqlite_database_file
from kibitz.server.codemarks.models import Mention, Reaction, Reply
from kibitz.server.crypto.binding import bind
from kibitz.server.crypto.envelope import PREFIX, key_id_of
from kibitz.server.crypto.keystore import (
    Keystore,
    OwnerKind,
    data_key_table,
    destroyed_table,
    keystore_file,
    keystore_url,
    metadata,
)
from kibitz.server.crypto.registry import SEALED_TABLES
from kibitz.server.db import make_engine
from kibitz.server.erasure.service import delete_user_rows
from kibitz.server.errors import Conflict, InvalidRequest, KekUnusable, KibitzError, SealBroken
from kibitz.server.events.models import Event
from kibitz.server.events.service import REDACTED
from kibitz.server.inbox.models import InboxItem
from kibitz.server.migrate import upgrade
from kibitz.server.search.models import SearchToken
from kibitz.server.teams.models import Membership, Team
from kibitz.settings import Settings

BATCH = 500


@dataclass(frozen=True)
class RestoreResult:
    """What a restore copied, and what it erased again."""

    data_dir: Path
    database: str
    data_backup: Path
    keystore_backup: Path | None
    alembic_revision: str | None
    # Rows deleted because a value in them was sealed with a key the keystore lacks (cascades not counted).
    deleted: dict[str, int] = field(default_factory=dict)
    redacted_events: int = 0
    # Tombstoned owners whose rows were deleted, by kind ("user", "team", "membership").
    erased: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    target: Path
    created: bool
    data: layout.BackupFile
    keystore: layout.BackupFile | None


async def restore(settings: Settings, source: Path) -> RestoreResult:
    """Restore the newest backup in `source` into the (new, empty) data directory of `settings`."""
    plan = await asyncio.to_thread(_plan, settings, source)
    await _check_databases_empty(settings)
    layout.private_dir(plan.target)
    try:
        return await _restore_into(settings, plan.data, plan.keystore)
    except BaseException:
        _clean(plan.target, remove_dir=plan.created)
        if keystore_file(settings) is None:
            # It was empty before (checked above): leave it so, and the restore can be run again.
            await _empty_keystore_database(settings)
        raise


def _plan(settings: Settings, source: Path) -> _Plan:
    """Choose the backups to restore and check them and the target (nothing is written yet)."""
    source = source.expanduser().resolve()
    data = layout.data_backups(source)
    if not data:
        raise InvalidRequest(f"{source} holds no data backup (looked in {source / layout.DATA})")
    keys = layout.keystore_backups(source)
    key_backup = keys[-1] if keys else None
    # A data backup newer than every keystore backup (a backup interrupted between its two copies) may hold
    # values sealed with keys no keystore backup has: the newest one that a keystore backup covers is taken.
    covered = [backup for backup in data if key_backup is None or backup.stamp <= key_backup.stamp]
    newest = covered[-1] if covered else data[-1]
    _check_kind(settings, newest)
    if key_backup is None and settings.encrypt_at_rest:
        raise InvalidRequest(
            f"{source} holds no keystore backup (they are kept {settings.keystore_backup_days} days), and "
            "without one no sealed value opens. A backup of a server with encryption at rest off (a switch "
            "of test suites and benchmarks) restores only with it off too"
        )
    _verify(source, newest, "data")
    if key_backup is not None:
        _verify(source, key_backup, "keystore")
    target = settings.data_dir.expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Conflict(f"{target} is not empty: restore writes into a new or empty data directory only")
    database_file = sqlite_database_file(settings)
    if database_file is not None and database_file.exists():
        raise Conflict(f"{database_file} exists: restore never overwrites a database")
    path = keystore_file(settings)
    if path is not None and path.exists():
        raise Conflict(f"{path} exists: restore never overwrites a keystore")
    return _Plan(target, not target.exists(), newest, key_backup)


def _check_kind(settings: Settings, newest: layout.BackupFile) -> None:
    if newest.kind == "sqlite" and not settings.is_sqlite:
        raise InvalidRequest(
            f"the newest data backup {newest.path.name} is a SQLite database; restore it with "
            "KIBITZ_DATABASE_URL unset (or a sqlite:/// URL); `kibitz export` moves teams between kinds"
        )
    if newest.kind == "postgresql" and settings.is_sqlite:
        raise InvalidRequest(
            f"the newest data backup {newest.path.name} is a PostgreSQL dump; set KIBITZ_DATABASE_URL to an "
            "empty PostgreSQL database to restore it into"
        )


def _verify(source: Path, backup_file: layout.BackupFile, kind: str) -> None:
    manifest = layout.read_manifest(source, backup_file.stamp)
    entry = (manifest or {}).get("files", {}).get(kind)
    if not isinstance(entry, dict) or entry.get("file") != backup_file.path.relative_to(source).as_posix():
        return
    if layout.sha256_of(backup_file.path) != entry.get("sha256"):
        raise KibitzError(
            f"{backup_file.path} does not match the checksum in its manifest: the file is damaged"
        )


async def _check_databases_empty(settings: Settings) -> None:
    """Refuse a PostgreSQL database or keystore that holds anything: restore never overwrites."""
    if sqlite_database_file(settings) is None:
        engine = make_engine(settings)
        try:
            async with engine.connect() as connection:
                tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        finally:
            await engine.dispose()
        if tables:
            raise Conflict(
                "the database of KIBITZ_DATABASE_URL is not empty: restore into a newly created database"
            )
    if keystore_file(settings) is None:
        engine = create_async_engine(keystore_url(settings), hide_parameters=True)
        try:
            if await keyfiles.has_keystore_tables(engine):
                async with engine.connect() as connection:
                    count = await connection.scalar(select(func.count()).select_from(data_key_table))
                if count:
                    raise Conflict(
                        "the keystore of KIBITZ_KEYSTORE_URL holds keys: restore into an empty one"
                    )
        finally:
            await engine.dispose()


def _clean(target: Path, *, remove_dir: bool) -> None:
    """Remove what a failed restore wrote, so it can be run again."""
    if remove_dir:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


async def _restore_into(
    settings: Settings, newest: layout.BackupFile, key_backup: layout.BackupFile | None
) -> RestoreResult:
    keystore: Keystore | None = None
    if key_backup is not None:
        await _restore_keystore(settings, key_backup.path)
        if settings.encrypt_at_rest:
            keystore = await _open_keystore(settings)
    try:
        database_file = sqlite_database_file(settings)
        if database_file is not None:
            database_file.parent.mkdir(parents=True, exist_ok=True)
            with layout.written_in_place(database_file) as part:
                await asyncio.to_thread(keyfiles.copy_sqlite_file, newest.path, part)
        else:
            await asyncio.to_thread(pgtools.restore, settings.database_url, newest.path)
        engine = make_engine(settings)
        try:
            await upgrade(engine)
            result = RestoreResult(
                data_dir=settings.data_dir.expanduser().resolve(),
                database=newest.kind,
                data_backup=newest.path,
                keystore_backup=None if key_backup is None else key_backup.path,
                alembic_revision=None,
            )
            if keystore is not None:
                # Before anything is erased: a keystore backup of another server would look as if every key
                # had been destroyed, and the replay would delete everything.
                await bind(engine, keystore, keystore_name=key_backup_name(key_backup))
                result = await _replay_erasures(engine, keystore, result)
            async with engine.connect() as connection:
                revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        finally:
            await engine.dispose()
    finally:
        if keystore is not None:
            await keystore.close()
    return dataclasses.replace(result, alembic_revision=None if revision is None else str(revision))


def key_backup_name(key_backup: layout.BackupFile | None) -> str:
    """Return how messages name the keystore backup being restored."""
    return "backup" if key_backup is None else f"backup {key_backup.path}"


async def _restore_keystore(settings: Settings, backup_path: Path) -> None:
    path = keystore_file(settings)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with layout.written_in_place(path) as part:
            await asyncio.to_thread(keyfiles.copy_sqlite_file, backup_path, part)
        return
    rows = await _rows_of_file(backup_path)
    engine = create_async_engine(keystore_url(settings), hide_parameters=True)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            for table in metadata.sorted_tables:
                await connection.execute(delete(table))
                if rows.get(table.name):
                    await connection.execute(table.insert(), rows[table.name])
    finally:
        await engine.dispose()


async def _empty_keystore_database(settings: Settings) -> None:
    engine = create_async_engine(keystore_url(settings), hide_parameters=True)
    try:
        if await keyfiles.has_keystore_tables(engine):
            async with engine.begin() as connection:
                for table in reversed(metadata.sorted_tables):
                    await connection.execute(delete(table))
    finally:
        await engine.dispose()


async def _rows_of_file(path: Path) -> dict[str, list[dict[str, Any]]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        return await keyfiles.keystore_rows(engine)
    finally:
        await engine.dispose()


async def _open_keystore(settings: Settings) -> Keystore:
    """Open the restored keystore with the operator's KEK, and prove that it opens a key."""
    hint = (
        "restore needs the key-encryption key of the server that was backed up (backups never hold it): "
        "set KIBITZ_KEK_FILE to its kek.key, or KIBITZ_KEK"
    )
    try:
        keystore = await Keystore.open(settings)
    except KekUnusable as error:
        raise KekUnusable(f"{error.message}; {hint}") from None
    try:
        async with keystore.engine.connect() as connection:
            some_key = await connection.scalar(select(data_key_table.c.key_id).limit(1))
        if some_key is not None:
            await keystore.key_by_id(str(some_key))
    except KekUnusable as error:
        await keystore.close()
        raise KekUnusable(f"{error.message}; {hint}") from None
    except BaseException:
        await keystore.close()
        raise
    return keystore


async def _replay_erasures(engine: AsyncEngine, keystore: Keystore, result: RestoreResult) -> RestoreResult:
    async with keystore.engine.connect() as connection:
        key_ids = set(await connection.scalars(select(data_key_table.c.key_id)))
        tombstones = (
            await connection.execute(select(destroyed_table.c.owner_kind, destroyed_table.c.owner_id))
        ).all()
    owners: dict[str, list[str]] = {}
    for kind, owner_id in tombstones:
        owners.setdefault(str(kind), []).append(str(owner_id))
    sqlite = engine.dialect.name == "sqlite"
    async with engine.begin() as connection:
        if sqlite:
            # The erased rows' bytes are overwritten in the file rather than left in free pages.
            await connection.exec_driver_sql("PRAGMA secure_delete=ON")
        erased = await _erase_owners(connection, owners)
        deleted, redacted = await _purge_sealed(connection, key_ids)
    if sqlite:
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM")
            await autocommit.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return dataclasses.replace(result, deleted=deleted, redacted_events=redacted, erased=erased)


def _batches(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[start : start + BATCH] for start in range(0, len(values), BATCH)]


async def _erase_users(connection: AsyncConnection, user_ids: Sequence[str]) -> None:
    """Delete users as an erasure does: what they wrote goes, their events stay in the log, redacted."""
    # The erasure's own statements (one per table), on this transaction: one definition of "erase a person".
    session = AsyncSession(bind=connection)
    try:
        for user_id in user_ids:
            await delete_user_rows(session, user_id, ())
    finally:
        await session.close()


async def _delete_replies(connection: AsyncConnection, reply_ids: Sequence[str]) -> int:
    """Delete replies and what points at them without a foreign key (search words, reactions, mentions)."""
    await connection.execute(delete(SearchToken).where(SearchToken.source.in_(reply_ids)))
    await connection.execute(delete(Reaction).where(Reaction.reply_id.in_(reply_ids)))
    await connection.execute(delete(Mention).where(Mention.reply_id.in_(reply_ids)))
    await connection.execute(delete(InboxItem).where(InboxItem.reply_id.in_(reply_ids)))
    result = await connection.execute(delete(Reply).where(Reply.id.in_(reply_ids)))
    return int(result.rowcount or 0)


async def _erase_owners(connection: AsyncConnection, owners: dict[str, list[str]]) -> dict[str, int]:
    """Delete the users, teams and memberships tombstoned in the keystore (and what cascades from them)."""
    erased: dict[str, int] = {}
    users = owners.get(str(OwnerKind.USER), [])
    present = [
        uid
        for batch in _batches(users)
        for uid in await connection.scalars(select(User.id).where(User.id.in_(batch)))
    ]
    await _erase_users(connection, present)
    erased["user"] = len(present)
    teams = owners.get(str(OwnerKind.TEAM), [])
    erased["team"] = 0
    for batch in _batches(teams):
        erased["team"] += int(
            (await connection.execute(delete(Team).where(Team.id.in_(batch)))).rowcount or 0
        )
    pairs = [
        tuple(owner.split(":", 1)) for owner in owners.get(str(OwnerKind.MEMBERSHIP), []) if ":" in owner
    ]
    erased["membership"] = 0
    for batch in _batches(pairs):
        result = await connection.execute(
            delete(Membership).where(tuple_(Membership.team_id, Membership.user_id).in_(batch))
        )
        erased["membership"] += int(result.rowcount or 0)
    return erased


def _missing_key(value: object, key_ids: set[str]) -> bool:
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return False
    try:
        return key_id_of(value) not in key_ids
    except SealBroken:
        # Damaged, not erased: it fails loudly when read, and an operator decides.
        return False


async def _purge_sealed(connection: AsyncConnection, key_ids: set[str]) -> tuple[dict[str, int], int]:
    """Delete (or, for events, redact) every row with a value sealed with a key the keystore lacks."""
    deleted: Counter[str] = Counter()
    redacted = 0
    # Children before parents, so each row is counted in its own table rather than vanishing by cascade.
    for entry in reversed(SEALED_TABLES):
        table = entry.table
        keys = list(table.primary_key.columns)
        query = select(*keys, *(table.c[column.key] for column in entry.columns))
        doomed: list[tuple[Any, ...]] = []
        result = await connection.stream(query)
        async for row in result:
            if any(_missing_key(row[len(keys) + i], key_ids) for i in range(len(entry.columns))):
                doomed.append(tuple(row[: len(keys)]))
        if not doomed:
            continue
        if entry.model is User:
            await _erase_users(connection, [pk[0] for pk in doomed])
            deleted[table.name] += len(doomed)
            continue
        for batch in _batches(doomed):
            where = keys[0].in_([pk[0] for pk in batch]) if len(keys) == 1 else tuple_(*keys).in_(batch)
            if entry.model is Event:
                result_ = await connection.execute(
                    update(table).where(where).values(payload=REDACTED, author_id=None)
                )
                redacted += int(result_.rowcount or 0)
            elif entry.model is Reply:
                deleted[table.name] += await _delete_replies(connection, [pk[0] for pk in batch])
            else:
                result_ = await connection.execute(delete(table).where(where))
                deleted[table.name] += int(result_.rowcount or 0)
    return dict(deleted), redacted
