"""The sealer services use: seal/open by owner, blind indexes, and opened values kept in memory.

The memory of opened values must never change what opens: a value moved to another cell still fails, a
flipped byte still fails, and once its key is destroyed a remembered value stops opening at once.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kibitz.server.codemarks.models import Reply
from kibitz.server.crypto.envelope import key_id_of
from kibitz.server.crypto.keystore import Keystore, OwnerKind
from kibitz.server.crypto.registry import SEALED_TABLES
from kibitz.server.crypto.sealer import GLOBAL_SCOPE, Sealer, cell_names, is_sealed, member_owner, team_owner
from kibitz.server.errors import KeyUnavailable, SealBroken
from kibitz.settings import Settings

ROW = "r000000000000001"


@pytest.fixture
async def sealer(tmp_path: Path) -> AsyncIterator[Sealer]:
    """A sealer over a fresh SQLite keystore."""
    keystore = await Keystore.open(Settings(data_dir=tmp_path / "data"))
    result = Sealer()
    result.attach(keystore)
    try:
        yield result
    finally:
        await keystore.close()


async def test_remembered_values_never_outlive_their_key_or_their_cell(sealer: Sealer) -> None:
    assert sealer.keystore is not None
    owner = member_owner("t1", "u1")
    sealed = await sealer.seal(owner, "why retry?", Reply.text, row=ROW)
    assert is_sealed(sealed)
    assert "why retry" not in sealed
    for _ in range(2):
        assert await sealer.open(sealed, Reply.text, row=ROW) == "why retry?"
    with pytest.raises(SealBroken):
        await sealer.open(sealed, Reply.text, row="r000000000000002")
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    with pytest.raises(SealBroken):
        await sealer.open(flipped, Reply.text, row=ROW)
    other = await sealer.seal(team_owner("t1"), "the team's", Reply.text, row=ROW)
    await sealer.keystore.destroy(owner.kind, owner.id)
    with pytest.raises(KeyUnavailable):
        await sealer.open(sealed, Reply.text, row=ROW)
    assert await sealer.open(other, Reply.text, row=ROW) == "the team's"


async def test_memory_stays_within_its_bound(sealer: Sealer) -> None:
    assert sealer.keystore is not None
    sealer.cache_chars = 60_000
    owner = team_owner("t1")
    values = [await sealer.seal(owner, f"value {n} " * 10, Reply.text, row=f"r{n:015d}") for n in range(300)]
    assert sealer._plain_chars <= sealer.cache_chars
    assert 0 < len(sealer._plain) < 300
    # Evicted or not, every value still opens (the long way when it was evicted).
    for n, value in enumerate(values):
        assert await sealer.open(value, Reply.text, row=f"r{n:015d}") == f"value {n} " * 10
    sealer.drop_plaintexts()
    assert not sealer._plain
    assert sealer._plain_chars == 0


async def test_remembered_values_are_no_work_for_the_garbage_collector(sealer: Sealer) -> None:
    sealed = await sealer.seal(team_owner("t1"), "why retry?", Reply.text, row=ROW)
    assert await sealer.open(sealed, Reply.text, row=ROW) == "why retry?"
    gc.collect()
    # A full collection walks every object it tracks, and a busy server remembers tens of thousands of
    # values: their keys and entries hold plain strings only, which it leaves alone after one look.
    assert sealer._plain
    assert not any(gc.is_tracked(key) or gc.is_tracked(entry) for key, entry in sealer._plain.items())


async def test_derived_values_live_by_their_version_and_their_keys(sealer: Sealer) -> None:
    assert sealer.keystore is not None
    author, team = member_owner("t1", "u1"), team_owner("t1")
    cells = [
        await sealer.seal(author, "why retry?", Reply.text, row=ROW),
        await sealer.seal(team, "src/app.py", Reply.text, row=ROW),
        "",
    ]
    sealer.remember_derived("answer", 3, cells, b"built from both", 20)
    assert await sealer.derived("answer", 3) == b"built from both"
    assert await sealer.derived("answer", 4) is None  # another version is not served, and forgotten
    assert await sealer.derived("answer", 3) is None
    # A key due to be re-read is read again, and the value still served while the key exists.
    sealer.remember_derived("answer", 4, cells, b"built from both", 20)
    sealer.keystore.cache_seconds = 0
    assert await sealer.derived("answer", 4) == b"built from both"
    # One key of the cells destroyed: the value dies with it, in this process at once.
    sealer.keystore.cache_seconds = 30
    await sealer.keystore.destroy(author.kind, author.id)
    assert await sealer.derived("answer", 4) is None
    # Erasure drops every derived value with the opened ones; the bound holds.
    sealer.remember_derived("other", 1, cells[1:], b"x", 1)
    sealer.drop_plaintexts()
    assert await sealer.derived("other", 1) is None
    sealer.derived_bytes = 10_000
    for n in range(500):
        sealer.remember_derived(n, 1, [], b"y" * 90, 90)
    assert sealer._derived_size <= 10_000
    assert await sealer.derived(499, 1) == b"y" * 90
    assert await sealer.derived(0, 1) is None
    sealer.remember_derived("huge", 1, [], b"z", 10_000)  # over a hundredth of the bound: not kept
    assert await sealer.derived("huge", 1) is None


async def test_derived_values_of_a_page_are_served_together_under_the_same_rules(sealer: Sealer) -> None:
    assert sealer.keystore is not None
    author, team = member_owner("t1", "u1"), team_owner("t1")
    by_author = await sealer.seal(author, "why retry?", Reply.text, row=ROW)
    by_team = await sealer.seal(team, "src/app.py", Reply.text, row=ROW)
    sealer.remember_derived("a", 1, [by_author, by_team], b"A", 1)
    sealer.remember_derived("b", 1, [by_team], b"B", 1)
    sealer.remember_derived("c", 1, [by_author], b"C", 1)
    # Only the versions asked for, and only what was kept.
    assert await sealer.derived_many([("a", 1), ("b", 2), ("c", 1), ("d", 1)]) == {"a": b"A", "c": b"C"}
    # Keys due to be re-read are read again, and what they sealed still served.
    sealer.keystore.cache_seconds = 0
    assert await sealer.derived_many([("a", 1), ("b", 1), ("c", 1)]) == {"a": b"A", "b": b"B", "c": b"C"}
    # The author's key destroyed: what was built from it goes, the rest stays.
    sealer.keystore.cache_seconds = 30
    await sealer.keystore.destroy(author.kind, author.id)
    assert await sealer.derived_many([("a", 1), ("b", 1), ("c", 1)]) == {"b": b"B"}


async def test_empty_values_and_encryption_off() -> None:
    off = Sealer(enabled=False)
    assert await off.seal(team_owner("t1"), "in the clear", Reply.text, row=ROW) == "in the clear"
    assert await off.open("in the clear", Reply.text, row=ROW) == "in the clear"
    assert len(await off.index("t1", "marker.path", "src/a.py")) == 64
    on = Sealer()
    assert await on.seal(team_owner("t1"), "", Reply.text, row=ROW) == ""
    assert await on.open("", Reply.text, row=ROW) == ""
    with pytest.raises(KeyUnavailable):
        await on.seal(team_owner("t1"), "no keystore attached", Reply.text, row=ROW)


async def test_values_survive_a_rotation_and_die_with_their_key(sealer: Sealer) -> None:
    assert sealer.keystore is not None
    before = await sealer.seal(team_owner("t1"), "return retry(fetch)", Reply.text, row=ROW)
    await sealer.keystore.rotate_data_key("t1")
    after = await sealer.seal(team_owner("t1"), "return fetch()", Reply.text, row=ROW)
    assert key_id_of(before) != key_id_of(after)
    sealer.drop_plaintexts()  # opened the long way, with the key each envelope names
    assert await sealer.open(before, Reply.text, row=ROW) == "return retry(fetch)"
    assert await sealer.open(after, Reply.text, row=ROW) == "return fetch()"
    await sealer.keystore.destroy(OwnerKind.TEAM, "t1")
    for value in (before, after):
        with pytest.raises(KeyUnavailable):
            await sealer.open(value, Reply.text, row=ROW)


async def test_blind_indexes_are_stable_per_scope(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first_sealer, reopened = Sealer(), Sealer()
    first_sealer.attach(await Keystore.open(settings))
    try:
        first = await first_sealer.index(GLOBAL_SCOPE, "user.email", "ada@example.com")
    finally:
        assert first_sealer.keystore is not None
        await first_sealer.keystore.close()
    reopened.attach(await Keystore.open(settings))
    try:
        assert await reopened.index(GLOBAL_SCOPE, "user.email", "ada@example.com") == first
        assert await reopened.index("t1", "user.email", "ada@example.com") != first
    finally:
        assert reopened.keystore is not None
        await reopened.keystore.close()


def test_cells_are_bound_to_their_mapped_columns_names() -> None:
    # The associated data of every value stored so far names these: they must never change.
    assert cell_names(Reply.text) == ("reply", "text")
    assert [[cell_names(c) for c in entry.columns] for entry in SEALED_TABLES] == [
        [("user_account", "email"), ("user_account", "name"), ("user_account", "handle")],
        [("api_token", "name")],
        [("team", "name")],
        [("codemark", "title"), ("codemark", "text")],
        [("codemark_tag", "tag")],
        [("codemark_edit", "title"), ("codemark_edit", "text")],
        [("marker", "path"), ("marker", "code"), ("marker", "context_before"), ("marker", "context_after")],
        [("marker_reference", "path")],
        [("marker_location", "path")],
        [("reply", "text")],
        [("reply_edit", "text")],
        [("repo", "name")],
        [("repo_remote", "url")],
        [("event", "payload")],
    ]
    assert [entry.row_of({c.key: c.key for c in entry.row}) for entry in SEALED_TABLES] == [
        "id",
        "id",
        "id",
        "id",
        "codemark_id/tag_index",
        "codemark_id",
        "id",
        "marker_id",
        "marker_id",
        "id",
        "reply_id",
        "id",
        "repo_id",
        "team_id/seq",
    ]
