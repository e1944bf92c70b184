"""Sealing and indexing one cell with the keystore's keys: the calls the services will make.

A service seals a column's value with its owner's active key (`seal_cell`), opens it with whichever key its
envelope names (`open_cell`: the active one or a retired one), and computes blind indexes under a scope's
index key (`index_cell`: `"global"` for login by email, a team id for paths and remotes).
"""

from __future__ import annotations

from kibitz.server.crypto.blind_index import blind_index
from kibitz.server.crypto.envelope import key_id_of, open_sealed, open_sealed_bytes, seal
from kibitz.server.crypto.keystore import Keystore, OwnerKind


async def seal_cell(
    keystore: Keystore,
    owner_kind: OwnerKind,
    owner_id: str,
    plaintext: str | bytes,
    *,
    table: str,
    column: str,
    row: str,
) -> str:
    """Seal a value for (table, column, row) with the owner's active data key (made on first use)."""
    key_id, key = await keystore.data_key(owner_kind, owner_id)
    return seal(key, key_id, plaintext, table=table, column=column, row=row)


async def open_cell(keystore: Keystore, sealed: str, *, table: str, column: str, row: str) -> str:
    """Open a sealed text value of (table, column, row) with the key its envelope names."""
    key_id = key_id_of(sealed)
    return open_sealed(await keystore.key_by_id(key_id), key_id, sealed, table=table, column=column, row=row)


async def open_cell_bytes(keystore: Keystore, sealed: str, *, table: str, column: str, row: str) -> bytes:
    """Open a sealed bytes value of (table, column, row) with the key its envelope names."""
    key_id = key_id_of(sealed)
    key = await keystore.key_by_id(key_id)
    return open_sealed_bytes(key, key_id, sealed, table=table, column=column, row=row)


async def index_cell(keystore: Keystore, scope: str, purpose: str, normalised: str) -> str:
    """Return the blind index of an already normalised value under the scope's index key."""
    _key_id, key = await keystore.data_key(OwnerKind.INDEX, scope)
    return blind_index(key, purpose, normalised)
