"""The SQLite driver: SQLAlchemy's answers unchanged, one trip to the driver's thread per statement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from kibitz.server.db import make_engine
from kibitz.server.sqlite_driver import OneTripConnection
from kibitz.settings import Settings


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = make_engine(Settings.load(data_dir=tmp_path / "data"))
    async with made.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield made
    await made.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call the driver sends to a connection's thread, by name."""
    sent: list[str] = []
    original = OneTripConnection._execute

    async def counting(self: OneTripConnection, function: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(function, "__name__", repr(function)))
        return await original(self, function, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(OneTripConnection, "_execute", counting)
    return sent


async def test_statements_rows_and_counts_are_what_sqlalchemy_expects(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "a"}, {"name": "b"}, {"name": "c"}]
        )
        assert inserted.rowcount == 3
        one = await connection.execute(text("INSERT INTO t (name) VALUES ('d') RETURNING id"))
        assert one.scalar_one() == 4
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 2"))
        assert updated.rowcount == 2
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c!"), (4, "d!")]
        streamed = await connection.stream(text("SELECT name FROM t ORDER BY id"))
        assert [name async for name in streamed.scalars()] == ["a", "b", "c!", "d!"]
        assert (await connection.execute(text("SELECT name FROM t WHERE id = 99"))).first() is None


async def test_errors_are_sqlalchemys_and_a_failed_transaction_leaves_nothing(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('x')"))
        with pytest.raises(exc.IntegrityError):
            await connection.execute(text("INSERT INTO t (name) VALUES ('x')"))
        await connection.rollback()
        with pytest.raises(exc.OperationalError):
            await connection.execute(text("SELECT nothing FROM nowhere"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0


async def test_a_rollback_undoes_and_a_commit_keeps(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('gone')"))
        await connection.rollback()
        await connection.execute(text("INSERT INTO t (name) VALUES ('kept')"))
        await connection.commit()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT name FROM t"))).scalars().all() == ["kept"]


async def test_a_statement_takes_one_trip_and_a_read_needs_no_commit_or_rollback(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.connect() as connection:  # the pool's connection exists already
        await connection.execute(text("SELECT 1"))
    trips.clear()
    async with engine.connect() as connection:
        await connection.execute(text("SELECT id, name FROM t"))
        await connection.commit()
    # The statement's cursor, execution, rows and closing in one trip; the read opened no transaction, so
    # neither its commit nor the pool's rollback on return goes to the thread.
    assert trips == ["_run"]
    trips.clear()
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('w')"))
    assert trips == ["_run", "commit"]
