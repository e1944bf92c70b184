"""The keystore: wrapped data keys in their own database, apart from the data they protect.

Key hierarchy: KEK (file, environment or KMS; never in a database) → data keys (one active per owner: a
team, a membership, a user, or an index scope), stored wrapped by the KEK → sealed values. Destroying an
owner's keys deletes their rows (SQLite with `secure_delete` and a rollback journal, so the bytes are
overwritten in the file; PostgreSQL rewrites the table with `VACUUM FULL`) and leaves a tombstone, so no
late writer can make a fresh key for an erased owner.

The schema has its own metadata, created when missing, with a version in `keystore_meta`: three small
tables do not need an Alembic line, and a keystore must never be migrated by the main database's Alembic.
"""

from __future__ import annotations

import asyncio
import enum
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from kibitz.ids import new_id
from kibitz.server.crypto.envelope import new_data_key
from kibitz.server.crypto.framing import frame
from kibitz.server.crypto.kek import KeyEncryptionKey, kek_from_settings, keks_on_disk
from kibitz.server.db import UTCDateTime, utcnow
from kibitz.server.errors import KekUnusable, KeyUnavailable, KibitzError
from kibitz.settings import Settings

SCHEMA_VERSION = 1
# Unwrapped keys are re-read from the keystore after this long, so a key destroyed by another process
# stops working here within that time even without a signal.
DEFAULT_CACHE_SECONDS = 30.0
REWRAP_BATCH = 200
# The names in keystore_meta of the keystore's own id and of the id of the database it belongs to.
KEYSTORE_ID = "keystore_id"
DATABASE_ID = "database_id"
# Tries at creating the schema when processes race to create it (one per table suffices).
_SCHEMA_ATTEMPTS = 8


class OwnerKind(enum.StrEnum):
    """Who a data key belongs to."""

    TEAM = "team"
    MEMBERSHIP = "membership"
    USER = "user"
    # Blind-index keys: owner id "global" (login by email) or a team id.
    INDEX = "index"


metadata = MetaData()

keystore_meta = Table(
    "keystore_meta",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

data_key_table = Table(
    "keystore_data_key",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("owner_kind", String(20), nullable=False),
    Column("owner_id", String(100), nullable=False),
    Column("kek_id", String(80), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Set when a newer key takes over new writes; the key stays for reading what it sealed.
    Column("retired_at", UTCDateTime, nullable=True),
    Index("ix_keystore_data_key_owner", "owner_kind", "owner_id"),
    Index(
        "uq_keystore_data_key_active",
        "owner_kind",
        "owner_id",
        unique=True,
        sqlite_where=text("retired_at IS NULL"),
        postgresql_where=text("retired_at IS NULL"),
    ),
)

destroyed_table = Table(
    "keystore_destroyed",
    metadata,
    Column("owner_kind", String(20), primary_key=True),
    Column("owner_id", String(100), primary_key=True),
    Column("destroyed_at", UTCDateTime, nullable=False),
)

# Every directory `kibitz server backup` has written keystore backups to (server/backup/): an erasure purges
# destroyed keys from the backups in each of them, not only in the one configured now.
backup_location_table = Table(
    "keystore_backup_location",
    metadata,
    Column("path", String(1000), primary_key=True),
    Column("first_used_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=False),
)


def keystore_url(settings: Settings) -> str:
    """Return the keystore's async SQLAlchemy URL (KIBITZ_KEYSTORE_URL, else keystore.db in the data dir)."""
    if not settings.keystore_url:
        return f"sqlite+aiosqlite:///{settings.data_dir / 'keystore.db'}"
    # The main database's URL rules (postgres:// → asyncpg) apply to the keystore's too.
    return settings.model_copy(update={"database_url": settings.keystore_url}).sqlalchemy_url()


def keystore_file(settings: Settings) -> Path | None:
    """Return the keystore's SQLite file, or None when it lives in another database server."""
    url = keystore_url(settings)
    prefix = "sqlite+aiosqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) else None


# An execution option marking a connection that only reads: its transaction may begin deferred.
_READ_ONLY = "kibitz_keystore_read_only"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling begins every transaction deferred; `_sqlite_begin` begins them.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # A rollback journal rather than WAL: a deleted key's page is overwritten in the file by secure_delete
    # and no copy lingers in a WAL file; the keystore is written rarely, so WAL's concurrency is not needed.
    cursor.execute("PRAGMA journal_mode=DELETE")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that writes first holds a read lock and then asks for the write lock; when
    # another connection is committing (it waits for readers to leave), SQLite refuses at once with
    # "database is locked" instead of waiting, since waiting could deadlock. Taking the write lock when the
    # transaction begins (IMMEDIATE) means a writer only ever waits, within busy_timeout, and never fails.
    # A reader begins nothing: each of its statements is a transaction of its own, so it holds the shared
    # lock (which keeps a writer from committing) only while the statement runs, never across awaits.
    if not connection.get_execution_options().get(_READ_ONLY, False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(settings: Settings) -> AsyncEngine:
    """Return an engine on the configured keystore (SQLite: a rollback journal and writers that queue)."""
    url = keystore_url(settings)
    if keystore_file(settings) is None:
        return create_async_engine(url, pool_size=5, pool_pre_ping=True, hide_parameters=True)
    engine = create_async_engine(url, connect_args={"timeout": 10}, hide_parameters=True)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def reading(engine: AsyncEngine) -> AsyncEngine:
    """Return the engine for connections that only read (on SQLite they take no lock between statements)."""
    return engine.execution_options(**{_READ_ONLY: True})


def _wrap_context(key_id: str, owner_kind: str, owner_id: str) -> bytes:
    # Bound to its id and owner: a wrapped key copied into another owner's row does not open.
    return frame(b"kibitz/data-key", key_id, owner_kind, owner_id)


@dataclass
class _Cached:
    key: bytes
    owner: tuple[str, str]
    loaded: float


@dataclass(frozen=True)
class KeystoreInfo:
    """Counts about the keystore (never key material)."""

    active_kek: str
    keys_by_kek: dict[str, int]
    active_keys_by_kind: dict[str, int]
    retired_keys: int
    destroyed_owners: int
    schema_version: int


@dataclass
class Keystore:
    """Wrapped data keys in a separate database, and a short-lived cache of unwrapped ones."""

    engine: AsyncEngine
    keks: dict[str, KeyEncryptionKey]
    reload_keks: Callable[[], Sequence[KeyEncryptionKey]] | None = None
    cache_seconds: float = DEFAULT_CACHE_SECONDS
    _by_id: dict[str, _Cached] = field(default_factory=dict)
    _active: dict[tuple[str, str], str] = field(default_factory=dict)
    # Key creation in this process waits here, in the event loop, rather than in the database's lock:
    # on a busy machine sixteen signups at once would otherwise queue for SQLite's write lock past its
    # busy timeout. Other processes still meet in the database's lock (or PostgreSQL's row lock).
    _creating: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        keks: Sequence[KeyEncryptionKey] | None = None,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
    ) -> Keystore:
        """Open (creating if missing) the configured keystore with the configured KEK, or the given ones."""
        path = keystore_file(settings)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Readable by the server's user alone (SQLite gives its journal the same mode).
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        engine = open_engine(settings)
        try:
            fresh = await _create_schema(engine)
            if keks is None:
                # The KEK file is created only for an empty keystore: a lost KEK is never replaced silently.
                keks = [kek_from_settings(settings, create=fresh), *keks_on_disk(settings)]

                def reload() -> Sequence[KeyEncryptionKey]:
                    return keks_on_disk(settings)

                store = cls(engine, {kek.key_id: kek for kek in keks}, reload, cache_seconds)
            elif keks:
                store = cls(engine, {kek.key_id: kek for kek in keks}, None, cache_seconds)
            else:
                raise ValueError("a keystore needs at least one key-encryption key")
            await store._adopt_active_kek(keks[0])
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def close(self) -> None:
        """Forget the unwrapped keys and close the database connections."""
        self._by_id.clear()
        self._active.clear()
        await self.engine.dispose()

    async def _adopt_active_kek(self, configured: KeyEncryptionKey) -> None:
        async with self.engine.begin() as connection:
            active = await connection.scalar(
                select(keystore_meta.c.value).where(keystore_meta.c.name == "kek")
            )
            if active is None:
                # Another process opening a fresh keystore at the same moment may win; its KEK counts then.
                await _insert_if_missing(connection, "kek", configured.key_id)
                active = await connection.scalar(
                    select(keystore_meta.c.value).where(keystore_meta.c.name == "kek")
                )
        # A rotation may be under way (the new KEK waits beside the file) or done by another process.
        self._kek(str(active))

    def _kek(self, kek_id: str) -> KeyEncryptionKey:
        kek = self.keks.get(kek_id)
        if kek is None and self.reload_keks is not None:
            for candidate in self.reload_keks():
                self.keks.setdefault(candidate.key_id, candidate)
            kek = self.keks.get(kek_id)
        if kek is None:
            raise KekUnusable(
                f"the keystore's keys are wrapped by the key-encryption key {kek_id}, "
                "which is not configured (KIBITZ_KEK_FILE / KIBITZ_KEK)"
            )
        return kek

    def _fresh(self, key_id: str) -> _Cached | None:
        cached = self._by_id.get(key_id)
        if cached is None or time.monotonic() - cached.loaded > self.cache_seconds:
            return None
        return cached

    def holds_fresh(self, key_id: str) -> bool:
        """Tell whether this key is cached and fresh (then what it sealed may be served from memory)."""
        return self._fresh(key_id) is not None

    def fresh_key(self, key_id: str) -> bytes | None:
        """Return the data key with this id if it is cached and fresh, without reading the database."""
        cached = self._fresh(key_id)
        return cached.key if cached is not None else None

    async def _unwrap_row(self, row: Any) -> bytes:
        kek = self._kek(row.kek_id)
        key = await kek.unwrap(row.wrapped, _wrap_context(row.key_id, row.owner_kind, row.owner_id))
        self._by_id[row.key_id] = _Cached(key, (row.owner_kind, row.owner_id), time.monotonic())
        return key

    async def data_key(
        self, owner_kind: OwnerKind, owner_id: str, *, create: bool = True
    ) -> tuple[str, bytes]:
        """Return the owner's active data key (id, 32 bytes), making one if there is none and `create`."""
        owner = _owner(owner_kind, owner_id)
        key_id = self._active.get(owner)
        if key_id is not None and (cached := self._fresh(key_id)) is not None:
            return key_id, cached.key
        async with reading(self.engine).connect() as connection:
            row = (await connection.execute(_active_row(owner))).first()
        if row is None:
            if not create:
                raise KeyUnavailable(f"there is no data key for {owner_kind} {owner_id}")
            async with self._creating, self.engine.begin() as connection:
                row = await self._create_key(connection, owner)
        key = await self._unwrap_row(row)
        self._active[owner] = row.key_id
        return row.key_id, key

    async def key_by_id(self, key_id: str) -> bytes:
        """Return the data key with this id (active or retired), for opening what it sealed."""
        if (cached := self._fresh(key_id)) is not None:
            return cached.key
        async with reading(self.engine).connect() as connection:
            row = (
                await connection.execute(select(data_key_table).where(data_key_table.c.key_id == key_id))
            ).first()
        if row is None:
            self._by_id.pop(key_id, None)
            raise KeyUnavailable(f"the data key {key_id} is unknown or destroyed")
        return await self._unwrap_row(row)

    async def _lock_and_active_kek(self, connection: AsyncConnection) -> KeyEncryptionKey:
        # Writing the meta row first takes the write lock (SQLite) or the row lock (PostgreSQL): key creation
        # and a KEK switch are serialised, so no key wrapped by the old KEK can be committed after a rotation
        # has switched KEKs and started rewrapping.
        await connection.execute(
            update(keystore_meta).where(keystore_meta.c.name == "kek").values(value=keystore_meta.c.value)
        )
        active = await connection.scalar(select(keystore_meta.c.value).where(keystore_meta.c.name == "kek"))
        return self._kek(str(active))

    async def _create_key(self, connection: AsyncConnection, owner: tuple[str, str]) -> Any:
        kek = await self._lock_and_active_kek(connection)
        row = (await connection.execute(_active_row(owner))).first()
        if row is not None:  # another process made it while we waited for the lock
            return row
        destroyed = await connection.scalar(
            select(func.count())
            .select_from(destroyed_table)
            .where(destroyed_table.c.owner_kind == owner[0], destroyed_table.c.owner_id == owner[1])
        )
        if destroyed:
            raise KeyUnavailable(
                f"the keys of {owner[0]} {owner[1]} were destroyed; no new key is made for it"
            )
        key_id = "dk-" + new_id()
        wrapped = await kek.wrap(new_data_key(), _wrap_context(key_id, *owner))
        await connection.execute(
            insert(data_key_table).values(
                key_id=key_id,
                owner_kind=owner[0],
                owner_id=owner[1],
                kek_id=kek.key_id,
                wrapped=wrapped,
                created_at=utcnow(),
            )
        )
        return (await connection.execute(_active_row(owner))).one()

    async def rotate_data_key(self, team_id: str) -> str:
        """Give a team a new data key for new writes; its older keys stay for reading until rewritten."""
        return await self.rotate(OwnerKind.TEAM, team_id)

    async def rotate(self, owner_kind: OwnerKind, owner_id: str) -> str:
        """Retire the owner's active key (kept for reading) and make a new active one; return its id."""
        if owner_kind == OwnerKind.INDEX:
            # Stored blind indexes are digests under the index key: a new key would orphan every one of them.
            raise ValueError(
                "index keys are not rotated: every stored blind index would have to be recomputed"
            )
        owner = _owner(owner_kind, owner_id)
        async with self._creating, self.engine.begin() as connection:
            await self._lock_and_active_kek(connection)
            await connection.execute(
                update(data_key_table)
                .where(
                    data_key_table.c.owner_kind == owner[0],
                    data_key_table.c.owner_id == owner[1],
                    data_key_table.c.retired_at.is_(None),
                )
                .values(retired_at=utcnow())
            )
            row = await self._create_key(connection, owner)
        self._active.pop(owner, None)
        return str(row.key_id)

    async def destroy(self, owner_kind: OwnerKind, owner_id: str) -> int:
        """Destroy every data key of an owner for good (rows deleted, cache evicted); return how many."""
        owner = _owner(owner_kind, owner_id)
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(data_key_table).where(
                    data_key_table.c.owner_kind == owner[0], data_key_table.c.owner_id == owner[1]
                )
            )
            exists = await connection.scalar(
                select(func.count())
                .select_from(destroyed_table)
                .where(destroyed_table.c.owner_kind == owner[0], destroyed_table.c.owner_id == owner[1])
            )
            if not exists:
                await connection.execute(
                    insert(destroyed_table).values(
                        owner_kind=owner[0], owner_id=owner[1], destroyed_at=utcnow()
                    )
                )
        self._active.pop(owner, None)
        for key_id in [key_id for key_id, cached in self._by_id.items() if cached.owner == owner]:
            del self._by_id[key_id]
        if self.engine.dialect.name == "postgresql":
            # A deleted tuple stays in the table file until vacuumed; VACUUM FULL writes a file without it.
            async with self.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM FULL keystore_data_key"))
        return int(result.rowcount or 0)

    async def owner_ids(self, owner_kind: OwnerKind, *, prefix: str = "", suffix: str = "") -> list[str]:
        """Return the ids of owners of a kind with keys or tombstones whose id starts and ends as given."""
        found: set[str] = set()
        async with reading(self.engine).connect() as connection:
            for table in (data_key_table, destroyed_table):
                query = select(table.c.owner_id).where(table.c.owner_kind == str(OwnerKind(owner_kind)))
                if prefix:
                    query = query.where(table.c.owner_id.startswith(prefix, autoescape=True))
                if suffix:
                    query = query.where(table.c.owner_id.endswith(suffix, autoescape=True))
                found.update(str(owner_id) for owner_id in await connection.scalars(query.distinct()))
        return sorted(found)

    async def destroy_many(self, owners: Sequence[tuple[OwnerKind, str]]) -> int:
        """Destroy every data key of several owners in one transaction (an erasure); return how many.

        Idempotent: owners already destroyed keep their tombstone, so an interrupted erasure can run again.
        """
        wanted = list(dict.fromkeys(_owner(kind, owner_id) for kind, owner_id in owners))
        if not wanted:
            return 0
        deleted = 0
        async with self.engine.begin() as connection:
            dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
            now = utcnow()
            for owner in wanted:
                result = await connection.execute(
                    delete(data_key_table).where(
                        data_key_table.c.owner_kind == owner[0], data_key_table.c.owner_id == owner[1]
                    )
                )
                deleted += int(result.rowcount or 0)
                # A concurrent erasure of the same owner may have left the tombstone already.
                await connection.execute(
                    dialect_insert(destroyed_table)
                    .values(owner_kind=owner[0], owner_id=owner[1], destroyed_at=now)
                    .on_conflict_do_nothing()
                )
        for owner in wanted:
            self._active.pop(owner, None)
        gone = set(wanted)
        for key_id in [key_id for key_id, cached in self._by_id.items() if cached.owner in gone]:
            del self._by_id[key_id]
        if deleted and self.engine.dialect.name == "postgresql":
            # As in `destroy`: only a rewritten table file is free of the deleted keys' bytes.
            async with self.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM FULL keystore_data_key"))
        return deleted

    async def rewrap_all(self, new_kek: KeyEncryptionKey, *, batch_size: int = REWRAP_BATCH) -> int:
        """Make `new_kek` the active KEK and rewrap every data key with it; return how many were rewrapped.

        The switch commits first, so keys made from then on are wrapped by the new KEK; then batches of keys
        are rewrapped, one transaction each, until none is wrapped by another KEK. Every key is readable at
        every moment, by the old KEK or the new one, so an interruption loses nothing: run it again.
        """
        self.keks[new_kek.key_id] = new_kek
        async with self.engine.begin() as connection:
            await self._lock_and_active_kek(connection)
            await connection.execute(
                update(keystore_meta).where(keystore_meta.c.name == "kek").values(value=new_kek.key_id)
            )
        rewrapped = 0
        while True:
            async with self.engine.begin() as connection:
                rows = (
                    await connection.execute(
                        select(data_key_table)
                        .where(data_key_table.c.kek_id != new_kek.key_id)
                        .order_by(data_key_table.c.key_id)
                        .limit(batch_size)
                    )
                ).all()
                for row in rows:
                    context = _wrap_context(row.key_id, row.owner_kind, row.owner_id)
                    key = await self._kek(row.kek_id).unwrap(row.wrapped, context)
                    wrapped = await new_kek.wrap(key, context)
                    # Compare-and-set: a row another rotation already rewrapped is left alone.
                    result = await connection.execute(
                        update(data_key_table)
                        .where(data_key_table.c.key_id == row.key_id, data_key_table.c.kek_id == row.kek_id)
                        .values(kek_id=new_kek.key_id, wrapped=wrapped)
                    )
                    rewrapped += int(result.rowcount or 0)
            if not rows:
                return rewrapped

    async def identity(self) -> tuple[str, str | None]:
        """Return this keystore's id and the id of the database it belongs to (None before it is bound)."""
        async with reading(self.engine).connect() as connection:
            result = await connection.execute(
                select(keystore_meta.c.name, keystore_meta.c.value).where(
                    keystore_meta.c.name.in_((KEYSTORE_ID, DATABASE_ID))
                )
            )
            rows = {str(name): str(value) for name, value in result}
        return str(rows[KEYSTORE_ID]), rows.get(DATABASE_ID)

    async def claim(self, database_id: str) -> str:
        """Record that the keystore belongs to `database_id` unless it belongs to one; return which."""
        async with self._creating, self.engine.begin() as connection:
            await _insert_if_missing(connection, DATABASE_ID, database_id)
            owner = await connection.scalar(
                select(keystore_meta.c.value).where(keystore_meta.c.name == DATABASE_ID)
            )
        return str(owner)

    async def holds_keys(self) -> bool:
        """Tell whether the keystore holds any data key."""
        async with reading(self.engine).connect() as connection:
            return await connection.scalar(select(data_key_table.c.key_id).limit(1)) is not None

    async def holds_any(self, key_ids: Sequence[str]) -> bool:
        """Tell whether any of these data keys is in the keystore."""
        if not key_ids:
            return False
        async with reading(self.engine).connect() as connection:
            found = await connection.scalar(
                select(data_key_table.c.key_id).where(data_key_table.c.key_id.in_(list(key_ids))).limit(1)
            )
        return found is not None

    async def info(self) -> KeystoreInfo:
        """Return counts of keys by KEK and owner kind (never key material)."""
        table = data_key_table
        async with reading(self.engine).connect() as connection:
            active = await connection.scalar(
                select(keystore_meta.c.value).where(keystore_meta.c.name == "kek")
            )
            version = await connection.scalar(
                select(keystore_meta.c.value).where(keystore_meta.c.name == "schema_version")
            )
            by_kek = (
                await connection.execute(select(table.c.kek_id, func.count()).group_by(table.c.kek_id))
            ).all()
            by_kind = (
                await connection.execute(
                    select(table.c.owner_kind, func.count())
                    .where(table.c.retired_at.is_(None))
                    .group_by(table.c.owner_kind)
                )
            ).all()
            retired = await connection.scalar(
                select(func.count()).select_from(table).where(table.c.retired_at.is_not(None))
            )
            destroyed = await connection.scalar(select(func.count()).select_from(destroyed_table))
        return KeystoreInfo(
            active_kek=str(active),
            keys_by_kek={str(kek_id): int(count) for kek_id, count in by_kek},
            active_keys_by_kind={str(kind): int(count) for kind, count in by_kind},
            retired_keys=int(retired or 0),
            destroyed_owners=int(destroyed or 0),
            schema_version=int(version or 0),
        )


def _owner(owner_kind: OwnerKind | str, owner_id: str) -> tuple[str, str]:
    # OwnerKind() refuses a misspelt kind, which would otherwise make keys nobody ever finds or destroys.
    if not owner_id:
        raise ValueError("a data key's owner needs an id")
    return str(OwnerKind(owner_kind)), owner_id


def _active_row(owner: tuple[str, str]) -> Any:
    return select(data_key_table).where(
        data_key_table.c.owner_kind == owner[0],
        data_key_table.c.owner_id == owner[1],
        data_key_table.c.retired_at.is_(None),
    )


async def _insert_if_missing(connection: AsyncConnection, name: str, value: str) -> None:
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    await connection.execute(
        dialect_insert(keystore_meta).values(name=name, value=value).on_conflict_do_nothing()
    )


async def _create_schema(engine: AsyncEngine) -> bool:
    """Create the keystore's tables if missing (retrying while other processes race us to it)."""
    for attempt in range(_SCHEMA_ATTEMPTS):
        try:
            return await _create_schema_once(engine)
        except DBAPIError:
            # Processes opening a fresh keystore together may each see some table missing: a loser fails
            # on whichever table another made first, and the next attempt finds them made.
            if attempt == _SCHEMA_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


async def _create_schema_once(engine: AsyncEngine) -> bool:
    """Create the keystore's tables if missing and check its schema version; tell whether it was empty."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Several processes may start at once; create_all is not atomic on its own.
            await connection.execute(text("SELECT pg_advisory_xact_lock(5264912001)"))
        await connection.run_sync(metadata.create_all)
        version = await connection.scalar(
            select(keystore_meta.c.value).where(keystore_meta.c.name == "schema_version")
        )
        if version is None:
            await _insert_if_missing(connection, "schema_version", str(SCHEMA_VERSION))
        elif int(version) > SCHEMA_VERSION:
            raise KibitzError(
                f"the keystore has schema version {version}; this Kibitz knows {SCHEMA_VERSION}"
            )
        # Its own id, for the database it serves to record (crypto/binding.py); a keystore made by an
        # earlier version gets one now. The database's id is recorded once the binding is made.
        await _insert_if_missing(connection, KEYSTORE_ID, "ks-" + new_id())
        keys = await connection.scalar(select(func.count()).select_from(data_key_table))
        active = await connection.scalar(select(keystore_meta.c.value).where(keystore_meta.c.name == "kek"))
    return not keys and active is None
