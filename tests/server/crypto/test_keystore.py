"""The keystore on SQLite and PostgreSQL: keys survive, destruction is final, rotations keep data readable."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kibitz.server.crypto.envelope import key_id_of, open_sealed, seal
from kibitz.server.crypto.kek import LocalKek, kek_file_path
from kibitz.server.crypto.keystore import Keystore, OwnerKind, data_key_table, keystore_file
from kibitz.server.errors import KekUnusable, KeyUnavailable, SealBroken
from kibitz.settings import Settings

CELL = {"table": "codemark", "column": "text", "row": "c000000000000001"}


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose keystore is a fresh SQLite file, then a fresh PostgreSQL database."""
    url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    return Settings(data_dir=tmp_path / "data", keystore_url=url)


async def _wrapped(store: Keystore, key_id: str) -> bytes | None:
    async with store.engine.connect() as connection:
        value = await connection.scalar(
            select(data_key_table.c.wrapped).where(data_key_table.c.key_id == key_id)
        )
    return None if value is None else bytes(value)


async def test_keys_are_made_once_and_survive_reopening(settings: Settings) -> None:
    store = await Keystore.open(settings)
    try:
        team_id, team_key = await store.data_key(OwnerKind.TEAM, "t1")
        assert len(team_key) == 32
        assert await store.data_key(OwnerKind.TEAM, "t1") == (team_id, team_key)
        member_id, member_key = await store.data_key(OwnerKind.MEMBERSHIP, "m1")
        assert member_id != team_id
        assert member_key != team_key
        sealed = seal(team_key, team_id, "the code", **CELL)
        wrapped = await _wrapped(store, team_id)
        assert wrapped is not None
        assert team_key not in wrapped
    finally:
        await store.close()
    reopened = await Keystore.open(settings)
    try:
        assert await reopened.data_key(OwnerKind.TEAM, "t1", create=False) == (team_id, team_key)
        assert open_sealed(await reopened.key_by_id(key_id_of(sealed)), team_id, sealed, **CELL) == "the code"
        with pytest.raises(KeyUnavailable):
            await reopened.data_key(OwnerKind.TEAM, "never-made", create=False)
        with pytest.raises(KeyUnavailable):
            await reopened.key_by_id("dk-unknown")
        info = await reopened.info()
        assert info.active_keys_by_kind == {"team": 1, "membership": 1}
        assert sum(info.keys_by_kek.values()) == 2
    finally:
        await reopened.close()
    if settings.keystore_url == "":
        path = keystore_file(settings)
        assert path == settings.data_dir / "keystore.db"
        assert path is not None
        assert (path.stat().st_mode & 0o077) == 0
        assert team_key not in path.read_bytes()


async def test_a_destroyed_key_is_gone_for_good(settings: Settings) -> None:
    store = await Keystore.open(settings)
    other = await Keystore.open(settings, cache_seconds=0)
    try:
        key_id, key = await store.data_key(OwnerKind.USER, "u1")
        rotated = await store.rotate(OwnerKind.USER, "u1")
        await store.key_by_id(rotated)
        kept_id, kept = await store.data_key(OwnerKind.USER, "u2")
        sealed = seal(key, key_id, "alice@example.com", table="user", column="email", row="u1")
        wrapped = await _wrapped(store, key_id)
        assert await other.key_by_id(key_id) == key
        assert await store.destroy(OwnerKind.USER, "u1") == 2
        # Row gone, cache evicted: this process and the other one both fail to find the key.
        assert await _wrapped(store, key_id) is None
        for keystore in (store, other):
            with pytest.raises(KeyUnavailable):
                await keystore.key_by_id(key_id)
            with pytest.raises(KeyUnavailable):
                await keystore.data_key(OwnerKind.USER, "u1", create=False)
        # No late writer gets a fresh key for an erased owner.
        with pytest.raises(KeyUnavailable, match="destroyed"):
            await store.data_key(OwnerKind.USER, "u1")
        # Without the key, the sealed value cannot be opened: any other key fails cleanly.
        with pytest.raises(SealBroken):
            open_sealed(kept, key_id, sealed, table="user", column="email", row="u1")
        assert await store.data_key(OwnerKind.USER, "u2") == (kept_id, kept)
        assert (await store.info()).destroyed_owners == 1
        assert await store.destroy(OwnerKind.USER, "u1") == 0
    finally:
        await other.close()
        await store.close()
    if settings.keystore_url == "":
        path = keystore_file(settings)
        assert path is not None
        assert wrapped is not None
        # secure_delete overwrote the row's bytes in the file, and no journal keeps a copy.
        assert wrapped not in path.read_bytes()
        assert [p.name for p in path.parent.iterdir() if p.name.startswith("keystore")] == ["keystore.db"]


async def test_another_process_stops_using_a_destroyed_key_after_its_cache_time(settings: Settings) -> None:
    writer = await Keystore.open(settings, cache_seconds=0.2)
    eraser = await Keystore.open(settings)
    try:
        key_id, _key = await writer.data_key(OwnerKind.MEMBERSHIP, "m1")
        await eraser.destroy(OwnerKind.MEMBERSHIP, "m1")
        await asyncio.sleep(0.3)
        with pytest.raises(KeyUnavailable):
            await writer.key_by_id(key_id)
        with pytest.raises(KeyUnavailable):
            await writer.data_key(OwnerKind.MEMBERSHIP, "m1")
    finally:
        await eraser.close()
        await writer.close()


async def test_rotating_a_team_key_keeps_old_values_readable(settings: Settings) -> None:
    store = await Keystore.open(settings)
    try:
        old_id, old_key = await store.data_key(OwnerKind.TEAM, "t1")
        old_value = seal(old_key, old_id, "before", **CELL)
        new_id = await store.rotate_data_key("t1")
        assert new_id != old_id
        active_id, new_key = await store.data_key(OwnerKind.TEAM, "t1")
        assert active_id == new_id
        assert new_key != old_key
        new_value = seal(new_key, new_id, "after", **CELL)
        for value, text in ((old_value, "before"), (new_value, "after")):
            assert (
                open_sealed(await store.key_by_id(key_id_of(value)), key_id_of(value), value, **CELL) == text
            )
        info = await store.info()
        assert info.retired_keys == 1
        assert info.active_keys_by_kind == {"team": 1}
    finally:
        await store.close()


async def test_rewrap_all_leaves_nothing_readable_by_the_old_kek_only(settings: Settings) -> None:
    store = await Keystore.open(settings)
    old_kek = LocalKek(base64.b64decode(kek_file_path(settings).read_text()))
    new_kek = LocalKek(os.urandom(32))
    try:
        keys = {owner: await store.data_key(OwnerKind.TEAM, owner) for owner in [f"t{i}" for i in range(7)]}
        await store.rotate_data_key("t0")
        assert await store.rewrap_all(new_kek, batch_size=3) == 8
        # Keys made after the switch are wrapped by the new KEK at once.
        await store.data_key(OwnerKind.TEAM, "t-late")
        info = await store.info()
        assert info.active_kek == new_kek.key_id
        assert info.keys_by_kek == {new_kek.key_id: 9}
        assert await store.rewrap_all(new_kek) == 0
    finally:
        await store.close()
    with_new = await Keystore.open(settings, keks=[new_kek])
    try:
        for owner, (key_id, key) in keys.items():
            assert await with_new.key_by_id(key_id) == key, owner
    finally:
        await with_new.close()
    with pytest.raises(KekUnusable, match=new_kek.key_id):
        await Keystore.open(settings, keks=[old_kek])


async def test_a_wrapped_key_copied_to_another_owner_does_not_open(settings: Settings) -> None:
    store = await Keystore.open(settings)
    try:
        victim_id, _ = await store.data_key(OwnerKind.TEAM, "victim")
        attacker_id, _ = await store.data_key(OwnerKind.TEAM, "attacker")
        stolen = await _wrapped(store, victim_id)
        async with store.engine.begin() as connection:
            await connection.execute(
                update(data_key_table).where(data_key_table.c.key_id == attacker_id).values(wrapped=stolen)
            )
    finally:
        await store.close()
    reopened = await Keystore.open(settings)
    try:
        with pytest.raises(KekUnusable):
            await reopened.key_by_id(attacker_id)
    finally:
        await reopened.close()


async def test_a_keystore_is_refused_with_another_kek(settings: Settings) -> None:
    store = await Keystore.open(settings)
    await store.data_key(OwnerKind.TEAM, "t1")
    await store.close()
    with pytest.raises(KekUnusable, match="not configured"):
        await Keystore.open(settings, keks=[LocalKek(os.urandom(32))])
    # A lost KEK file is not silently replaced by a new one while keys exist.
    kek_file_path(settings).unlink()
    with pytest.raises(KekUnusable, match="no key-encryption key file"):
        await Keystore.open(settings)
    assert not kek_file_path(settings).exists()


async def test_concurrent_first_uses_make_one_key(settings: Settings) -> None:
    stores = [await Keystore.open(settings) for _ in range(4)]
    try:
        results = await asyncio.gather(*(s.data_key(OwnerKind.TEAM, "busy") for s in stores))
        assert len({key_id for key_id, _ in results}) == 1
    finally:
        for store in stores:
            await store.close()


async def test_index_keys_serve_blind_indexes_and_are_not_rotated(settings: Settings) -> None:
    from kibitz.server.crypto.blind_index import blind_index

    store = await Keystore.open(settings)
    try:
        _, global_key = await store.data_key(OwnerKind.INDEX, "global")
        _, team_key = await store.data_key(OwnerKind.INDEX, "t1")
        assert blind_index(global_key, "user.email", "a@example.com") != blind_index(
            team_key, "user.email", "a@example.com"
        )
        with pytest.raises(ValueError, match="not rotated"):
            await store.rotate(OwnerKind.INDEX, "t1")
        assert (await store.data_key(OwnerKind.INDEX, "t1"))[1] == team_key
    finally:
        await store.close()


async def test_unknown_owner_kinds_and_empty_owners_are_refused(settings: Settings) -> None:
    store = await Keystore.open(settings)
    try:
        with pytest.raises(ValueError, match="teams"):
            await store.data_key("teams", "t1")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="owner needs an id"):
            await store.destroy(OwnerKind.TEAM, "")
        assert (await store.info()).active_keys_by_kind == {}
    finally:
        await store.close()
    with pytest.raises(ValueError, match="at least one"):
        await Keystore.open(settings, keks=[])


async def test_processes_opening_a_fresh_keystore_at_once_agree(settings: Settings) -> None:
    stores = await asyncio.gather(*(Keystore.open(settings) for _ in range(4)))
    try:
        kek_ids = {(await store.info()).active_kek for store in stores}
        assert len(kek_ids) == 1
        key_ids = {(await store.data_key(OwnerKind.TEAM, "t1"))[0] for store in stores}
        assert len(key_ids) == 1
    finally:
        for store in stores:
            await store.close()
    assert [p.name for p in settings.data_dir.iterdir() if "kek" in p.name] == ["kek.key"]
