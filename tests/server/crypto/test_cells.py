"""Sealing cells through the keystore: the owner's key seals, the envelope's key opens, erasure ends it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kibitz.server.crypto.blind_index import normalise_email
from kibitz.server.crypto.cells import index_cell, open_cell, open_cell_bytes, seal_cell
from kibitz.server.crypto.envelope import key_id_of
from kibitz.server.crypto.keystore import Keystore, OwnerKind
from kibitz.server.errors import KeyUnavailable, SealBroken
from kibitz.settings import Settings

CELL = {"table": "marker", "column": "code", "row": "m000000000000001"}


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose keystore is a fresh SQLite file, then a fresh PostgreSQL database."""
    url = "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    return Settings(data_dir=tmp_path / "data", keystore_url=url)


async def test_cells_seal_open_survive_rotation_and_die_with_their_key(settings: Settings) -> None:
    store = await Keystore.open(settings)
    try:
        before = await seal_cell(store, OwnerKind.TEAM, "t1", "return retry(fetch)", **CELL)
        raw = await seal_cell(store, OwnerKind.TEAM, "t1", b"\x00\xff", **{**CELL, "column": "fingerprint"})
        await store.rotate_data_key("t1")
        after = await seal_cell(store, OwnerKind.TEAM, "t1", "return fetch()", **CELL)
        assert key_id_of(before) != key_id_of(after)
        assert await open_cell(store, before, **CELL) == "return retry(fetch)"
        assert await open_cell(store, after, **CELL) == "return fetch()"
        assert await open_cell_bytes(store, raw, **{**CELL, "column": "fingerprint"}) == b"\x00\xff"
        with pytest.raises(SealBroken):
            await open_cell(store, before, **{**CELL, "row": "m000000000000002"})
        await store.destroy(OwnerKind.TEAM, "t1")
        for value in (before, after):
            with pytest.raises(KeyUnavailable):
                await open_cell(store, value, **CELL)
    finally:
        await store.close()


async def test_index_cells_are_stable_per_scope(settings: Settings) -> None:
    store = await Keystore.open(settings)
    try:
        email = normalise_email("Ada@Example.com")
        first = await index_cell(store, "global", "user.email", email)
    finally:
        await store.close()
    reopened = await Keystore.open(settings)
    try:
        assert await index_cell(reopened, "global", "user.email", email) == first
        assert await index_cell(reopened, "t1", "user.email", email) != first
    finally:
        await reopened.close()
