"""The sealer services use: seal/open by owner, blind indexes, and opened values kept in memory.

The memory of opened values must never change what opens: a value moved to another cell still fails, a
flipped byte still fails, and once its key is destroyed a remembered value stops opening at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kibitz.server.crypto.keystore import Keystore
from kibitz.server.crypto.sealer import Sealer, is_sealed, member_owner, team_owner
from kibitz.server.errors import KeyUnavailable, SealBroken
from kibitz.settings import Settings

CELL = {"table": "reply", "column": "text", "row": "r000000000000001"}


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
    sealed = await sealer.seal(owner, "why retry?", **CELL)
    assert is_sealed(sealed)
    assert "why retry" not in sealed
    for _ in range(2):
        assert await sealer.open(sealed, **CELL) == "why retry?"
    with pytest.raises(SealBroken):
        await sealer.open(sealed, **{**CELL, "row": "r000000000000002"})
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    with pytest.raises(SealBroken):
        await sealer.open(flipped, **CELL)
    other = await sealer.seal(team_owner("t1"), "the team's", **CELL)
    await sealer.keystore.destroy(owner.kind, owner.id)
    with pytest.raises(KeyUnavailable):
        await sealer.open(sealed, **CELL)
    assert await sealer.open(other, **CELL) == "the team's"


async def test_memory_stays_within_its_bound(sealer: Sealer) -> None:
    assert sealer.keystore is not None
    sealer.cache_chars = 60_000
    owner = team_owner("t1")
    values = [
        await sealer.seal(owner, f"value {n} " * 10, **{**CELL, "row": f"r{n:015d}"}) for n in range(300)
    ]
    assert sealer._plain_chars <= sealer.cache_chars
    assert 0 < len(sealer._plain) < 300
    # Evicted or not, every value still opens (the long way when it was evicted).
    for n, value in enumerate(values):
        assert await sealer.open(value, **{**CELL, "row": f"r{n:015d}"}) == f"value {n} " * 10
    sealer.drop_plaintexts()
    assert not sealer._plain
    assert sealer._plain_chars == 0


async def test_empty_values_and_encryption_off() -> None:
    off = Sealer(enabled=False)
    assert await off.seal(team_owner("t1"), "in the clear", **CELL) == "in the clear"
    assert await off.open("in the clear", **CELL) == "in the clear"
    assert len(await off.index("t1", "marker.path", "src/a.py")) == 64
    on = Sealer()
    assert await on.seal(team_owner("t1"), "", **CELL) == ""
    assert await on.open("", **CELL) == ""
    with pytest.raises(KeyUnavailable):
        await on.seal(team_owner("t1"), "no keystore attached", **CELL)
