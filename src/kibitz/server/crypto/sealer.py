"""The one object services seal, open and index through: the keystore's keys, reached from the session.

Every unit of work the app makes carries the app's `Sealer` (`unit_of_work.UnitOfWork.sealer`).

Whose key seals what (docs/security.md, "Encryption at rest"):
- a user's email, name and handle: the user's key (`user_owner`);
- what a member wrote in a team (codemark titles and texts, their edits, reply texts, marker code, context
  and paths, and the events that carry them): that membership's key (`member_owner`), so erasing the person
  destroys every copy, in every backup, at once;
- what belongs to the team rather than to one author (repo names and remotes, reference and shared-location
  paths): the team's key (`team_owner`);
- blind indexes and search words: the index key of a scope (`"global"` for emails and handles, a team id
  for paths, remotes and search words).

With encryption switched off (`encrypt_at_rest=False`, set in code for the benchmark that prices it)
values are stored as they are and blind indexes use a fixed public key: no protection at all, and said so at
start-up.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Table
from sqlalchemy.orm import ColumnProperty, InstrumentedAttribute

from kibitz.server.crypto.blind_index import blind_index
from kibitz.server.crypto.envelope import PREFIX, key_id_of, open_text_envelope, seal, unpack
from kibitz.server.crypto.keystore import Keystore, OwnerKind
from kibitz.server.errors import KeyUnavailable

GLOBAL_SCOPE = "global"
# Used only with encryption off: an index "key" anyone can know, so equal values still match.
_PUBLIC_INDEX_KEY = bytes(32)
# Opened values kept in memory (characters in all): pages of codemarks, replies and events are read far
# more often than written, and opening them again costs most of what encryption adds to a read.
PLAINTEXT_CACHE_CHARS = 32_000_000
# Answers built from opened values (a codemark's wire form), in bytes in all.
DERIVED_CACHE_BYTES = 32_000_000


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose data key seals a value."""

    kind: OwnerKind
    id: str


def user_owner(user_id: str) -> Owner:
    """The owner of a person's profile (email, name, handle)."""
    return Owner(OwnerKind.USER, user_id)


def member_owner(team_id: str, user_id: str) -> Owner:
    """The owner of what a person wrote in one team."""
    return Owner(OwnerKind.MEMBERSHIP, f"{team_id}:{user_id}")


def team_owner(team_id: str) -> Owner:
    """The owner of what belongs to a team as a whole."""
    return Owner(OwnerKind.TEAM, team_id)


# A mapped text column that holds sealed values (`Marker.code`): the key of every seal, open and index.
SealedColumn = InstrumentedAttribute[str | None]
_NAMES: dict[SealedColumn, tuple[str, str]] = {}


def cell_names(column: SealedColumn) -> tuple[str, str]:
    """Return the (table, column) names a sealed column's values are bound to (their associated data)."""
    names = _NAMES.get(column)
    if names is None:
        prop = column.property
        table = column.parent.local_table
        if not isinstance(prop, ColumnProperty) or not isinstance(table, Table):
            raise TypeError(f"{column} is not a mapped column of a table")
        # Plain strings: SQLAlchemy's table name is a `str` subclass, which the garbage collector tracks, and
        # so would it every opened-value cache key holding one (tens of thousands walked at each full
        # collection); keys of plain strings are left alone.
        names = _NAMES[column] = (str(table.name), str(prop.columns[0].key))
    return names


class Cell(NamedTuple):
    """A sealed value and the cell it belongs to (what its associated data binds it to)."""

    sealed: str
    column: SealedColumn
    row: str


@dataclass
class Sealer:
    """Seals, opens and indexes values with the keystore's data keys (or stores them as is when off)."""

    enabled: bool = True
    keystore: Keystore | None = None
    cache_chars: int = PLAINTEXT_CACHE_CHARS
    _index_keys: dict[str, bytes] = field(default_factory=dict)
    # (sealed, table, column, row) -> (key id, plaintext), least recently used first. An entry is served only
    # while the keystore still holds its key fresh in memory, so it never outlives the key: a destroyed key
    # stops its values from opening here exactly as it does without this cache.
    _plain: OrderedDict[tuple[str, str, str, str], tuple[str, str]] = field(default_factory=OrderedDict)
    _plain_chars: int = 0
    derived_bytes: int = DERIVED_CACHE_BYTES
    # name -> (version, key ids, size, value), least recently used first: what was built from opened values
    # (see `remember_derived`), under the same rule as `_plain`, and dropped with it.
    _derived: OrderedDict[Hashable, tuple[Hashable, frozenset[str], int, Any]] = field(
        default_factory=OrderedDict
    )
    _derived_size: int = 0
    # Called by `drop_plaintexts`: caches outside the sealer that hold opened text (caches.py) empty too.
    _drop_listeners: list[Callable[[], None]] = field(default_factory=list)

    def on_drop(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever opened values are dropped (an erasure): a cache of opened text empties."""
        self._drop_listeners.append(listener)

    def attach(self, keystore: Keystore) -> None:
        """Use this keystore from now on (the app opens it when it starts)."""
        self.keystore = keystore

    def detach(self) -> None:
        """Forget the keystore (the app closes it when it stops)."""
        self.keystore = None
        self._index_keys.clear()
        self.drop_plaintexts()

    def drop_plaintexts(self) -> None:
        """Forget every opened value kept in memory (after an erasure, so none lingers until evicted)."""
        self._plain.clear()
        self._plain_chars = 0
        self._derived.clear()
        self._derived_size = 0
        for listener in self._drop_listeners:
            listener()

    def remember_derived(
        self, name: Hashable, version: Hashable, sealed: Sequence[str], value: Any, size: int
    ) -> None:
        """Keep a value built from the opened cells `sealed` (at `version` of `name`) for `derived`.

        It is served only while every key those cells were sealed with still opens them, exactly as an
        opened cell is, and forgotten with them (`drop_plaintexts`).
        """
        if size > self.derived_bytes // 100:
            return
        key_ids = frozenset(key_id_of(v) for v in sealed if self.enabled and is_sealed(v))
        old = self._derived.pop(name, None)
        if old is not None:
            self._derived_size -= old[2]
        self._derived[name] = (version, key_ids, size, value)
        self._derived_size += size
        while self._derived_size > self.derived_bytes:
            _name, (_version, _keys, old_size, _value) = self._derived.popitem(last=False)
            self._derived_size -= old_size

    async def derived(self, name: Hashable, version: Hashable) -> Any | None:
        """Return what `remember_derived` kept for `name` at this version, or None.

        A key not fresh in memory is read again (it may have been destroyed: then the value is forgotten).
        """
        hit = self._derived.get(name)
        if hit is None:
            return None
        if hit[0] != version:
            del self._derived[name]
            self._derived_size -= hit[2]
            return None
        store = self._store() if self.enabled else None
        for key_id in hit[1]:
            if store is not None and not store.holds_fresh(key_id):
                try:
                    await store.key_by_id(key_id)
                except KeyUnavailable:
                    if self._derived.get(name) is hit:  # not replaced while the key was read
                        del self._derived[name]
                        self._derived_size -= hit[2]
                    return None
        if self._derived.get(name) is hit:
            self._derived.move_to_end(name)
        return hit[3]

    async def derived_many(self, wanted: Sequence[tuple[Hashable, Hashable]]) -> dict[Hashable, Any]:
        """Return what `derived` returns for each (name, version) that has a value, by name.

        Each key is checked once for all of them (a page's answers share a few), and only a key not fresh in
        memory costs a wait.
        """
        store = self._store() if self.enabled else None
        fresh: set[str] = set()
        found: dict[Hashable, Any] = {}
        for name, version in wanted:
            hit = self._derived.get(name)
            if hit is None or hit[0] != version:
                continue
            if store is not None and not hit[1] <= fresh:
                if not all(store.holds_fresh(key_id) for key_id in hit[1] - fresh):
                    value = await self.derived(name, version)  # reads the key again, or forgets the value
                    if value is not None:
                        found[name] = value
                    continue
                fresh |= hit[1]
            self._derived.move_to_end(name)
            found[name] = hit[3]
        return found

    def _remember(self, cell: tuple[str, str, str, str], key_id: str, plain: str) -> None:
        size = len(cell[0]) + len(plain)
        if size > self.cache_chars // 100:
            return  # a huge value would evict hundreds of ordinary ones
        self._plain[cell] = (key_id, plain)
        self._plain_chars += size
        while self._plain_chars > self.cache_chars:
            (old_sealed, *_), (_key_id, old_plain) = self._plain.popitem(last=False)
            self._plain_chars -= len(old_sealed) + len(old_plain)

    def _store(self) -> Keystore:
        if self.keystore is None:
            raise KeyUnavailable("the keystore is not open")
        return self.keystore

    async def seal(self, owner: Owner, value: str, column: SealedColumn, *, row: str) -> str:
        """Seal a text value of one cell with the owner's active data key ("" stays "": nothing to hide)."""
        if not self.enabled or not value:
            return value
        table, name = cell_names(column)
        key_id, key = await self._store().data_key(owner.kind, owner.id)
        sealed = seal(key, key_id, value, table=table, column=name, row=row)
        # What was just written is usually read right back (the answer, the event, the next page).
        self._remember((sealed, table, name, row), key_id, value)
        return sealed

    def open_in_memory(self, sealed: str, column: SealedColumn, *, row: str) -> str | None:
        """Open a cell without awaiting if its key is in memory and fresh; None when it needs a key read.

        A page of rows opens hundreds of cells under a handful of keys: once those keys are in memory,
        opening synchronously spares a coroutine per cell.
        """
        if not self.enabled or not sealed:
            return sealed
        store = self._store()
        table, name = cell_names(column)
        cell = (sealed, table, name, row)
        hit = self._plain.get(cell)
        if hit is not None:
            if store.holds_fresh(hit[0]):
                self._plain.move_to_end(cell)
                return hit[1]
            # Its key is due to be re-read (or was destroyed): open it the long way, which checks.
            del self._plain[cell]
            self._plain_chars -= len(sealed) + len(hit[1])
        envelope = unpack(sealed)
        key = store.fresh_key(envelope.key_id)
        if key is None:
            return None
        plain = open_text_envelope(key, envelope, table=table, column=name, row=row)
        self._remember(cell, envelope.key_id, plain)
        return plain

    async def open(self, sealed: str, column: SealedColumn, *, row: str) -> str:
        """Open a sealed text value of one cell (SealBroken or KeyUnavailable when it cannot be)."""
        plain = self.open_in_memory(sealed, column, row=row)
        return plain if plain is not None else await self._open_reading_key(sealed, column, row)

    async def open_many(self, cells: Sequence[Cell]) -> list[str]:
        """Open many cells, in order: a keystore read per key not in memory, no await for the others."""
        opened: list[str] = []
        for sealed, column, row in cells:
            plain = self.open_in_memory(sealed, column, row=row)
            opened.append(plain if plain is not None else await self._open_reading_key(sealed, column, row))
        return opened

    async def _open_reading_key(self, sealed: str, column: SealedColumn, row: str) -> str:
        """Open a cell whose key `open_in_memory` did not hold fresh: read the key from the keystore."""
        table, name = cell_names(column)
        envelope = unpack(sealed)
        key = await self._store().key_by_id(envelope.key_id)
        plain = open_text_envelope(key, envelope, table=table, column=name, row=row)
        self._remember((sealed, table, name, row), envelope.key_id, plain)
        return plain

    async def index(self, scope: str, purpose: str, normalised: str) -> str:
        """Return the blind index of an already normalised value for a purpose under a scope's index key."""
        key = self._index_keys.get(scope)
        if key is None:
            if not self.enabled:
                key = _PUBLIC_INDEX_KEY
            else:
                # Index keys are never rotated (that would need re-indexing), so they can stay in memory.
                _key_id, key = await self._store().data_key(OwnerKind.INDEX, scope)
            self._index_keys[scope] = key
        return blind_index(key, purpose, normalised)

    def forget_index_key(self, scope: str) -> None:
        """Drop a scope's index key from memory (its team was erased)."""
        self._index_keys.pop(scope, None)


def is_sealed(value: str) -> bool:
    """Tell whether a stored value is a sealed envelope (by its prefix; nothing is opened)."""
    return value.startswith(PREFIX)
