"""The SQLite driver: SQLAlchemy's answers unchanged; statements on the loop's thread unless they'd wait."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from kibitz.server.db import make_engine
from kibitz.server.sqlite_driver import InlineConnection, Shared, off_the_loop, use_inline_connections
from kibitz.settings import Settings

# A read that runs for a good while in SQLite alone (a few hundred ms), whatever the machine.
_LONG_READ = (
    "SELECT (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
    "SELECT count(*) FROM n)"
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = make_engine(Settings.load(data_dir=tmp_path / "data"))
    async with made.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield made
    await made.dispose()


async def _engine_with(path: Path, busy_seconds: float, read_budget: float) -> tuple[AsyncEngine, Shared]:
    made = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": busy_seconds})
    shared = use_inline_connections(made, read_budget=read_budget)
    async with made.begin() as connection:
        await connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        await connection.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT)"))
    return made, shared


async def _two_in_the_pool(engine: AsyncEngine) -> None:
    """Open two connections and give them back: opening one takes trips of its own, the tests count none."""
    opened = [await engine.connect(), await engine.connect()]
    for connection in opened:
        await connection.close()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every call the driver sends to a connection's thread, by the function it runs there."""
    sent: list[str] = []
    original = InlineConnection._execute

    async def counting(self: InlineConnection, function: Any, *args: Any, **kwargs: Any) -> Any:
        # The driver's calls are `_waiting(connection, busy_ms, call)`; aiosqlite's own are functions.
        call = args[2] if len(args) == 3 else function
        name = getattr(call, "func", call)
        sent.append(getattr(name, "__name__", repr(name)))
        return await original(self, function, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(InlineConnection, "_execute", counting)
    return sent


class Ticker:
    """Counts how often the event loop ran a task of its own while something else was awaited."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0.005)

    def __enter__(self) -> Ticker:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


@pytest.fixture
def other_process_writer(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection standing for another process that writes to the same file."""
    connection = sqlite3.connect(tmp_path / "shared.db", isolation_level=None, timeout=0)
    yield connection
    connection.close()


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


async def test_statements_commits_and_rollbacks_run_inline_and_pragmas_on_the_thread(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.connect() as connection:  # the pool's connection exists already
        await connection.execute(text("SELECT 1"))
    trips.clear()
    async with engine.begin() as connection:
        await connection.execute(text("SELECT id, name FROM t"))
        await connection.execute(text("INSERT INTO t (name) VALUES ('w')"))
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('v')"))
        await connection.rollback()
    assert trips == []
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    assert trips == ["_run"]


async def test_writers_of_one_process_queue_at_the_gate_in_order(
    engine: AsyncEngine, trips: list[str]
) -> None:
    await _two_in_the_pool(engine)
    trips.clear()
    order: list[str] = []
    first_holds = asyncio.Event()
    let_first_commit = asyncio.Event()

    async def first() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('first')"))
            first_holds.set()
            await let_first_commit.wait()
            order.append("first commits")

    async def second() -> None:
        await first_holds.wait()
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('second')"))
            order.append("second wrote")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_holds.wait()
    await asyncio.sleep(0.05)
    assert order == []  # the second writer waits at the gate while the first holds it
    let_first_commit.set()
    await asyncio.gather(*tasks)
    assert order == ["first commits", "second wrote"]
    # They waited for each other in the loop, not in SQLite's busy handler on a thread.
    assert trips == []
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
    assert names == ["first", "second"]


async def test_a_writer_waiting_too_long_at_the_gate_is_told_the_database_is_locked(tmp_path: Path) -> None:
    made, _shared = await _engine_with(tmp_path / "shared.db", busy_seconds=0.2, read_budget=0.002)
    try:
        async with made.connect() as holder:
            await holder.execute(text("INSERT INTO t (name) VALUES ('held')"))
            started = time.perf_counter()
            async with made.connect() as waiter:
                with pytest.raises(exc.OperationalError, match="database is locked"):
                    await waiter.execute(text("INSERT INTO t (name) VALUES ('late')"))
            assert 0.15 < time.perf_counter() - started < 5
            await holder.commit()
        # The gate was given back by the holder's commit, and the waiter never held it.
        async with made.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('after')"))
            names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
        assert names == ["held", "after"]
    finally:
        await made.dispose()


@pytest.mark.parametrize("ending", ["rollback", "failed statement", "connection dropped"])
async def test_the_gate_is_given_back_however_a_transaction_ends(engine: AsyncEngine, ending: str) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        await connection.commit()
    connection = await engine.connect()
    await connection.execute(text("INSERT INTO t (name) VALUES ('b')"))
    if ending == "rollback":
        await connection.rollback()
    elif ending == "failed statement":
        with pytest.raises(exc.IntegrityError):
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        await connection.rollback()
    else:  # the pool closes it (as after an error it cannot recover from) without rolling back first
        await connection.invalidate()
    await connection.close()
    async with asyncio.timeout(2):  # a gate not given back would keep this writer waiting for 10 s
        async with engine.begin() as other:
            await other.execute(text("INSERT INTO t (name) VALUES ('c')"))
    async with engine.connect() as reader:
        assert (await reader.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all() == ["a", "c"]


async def test_a_write_lock_held_elsewhere_is_waited_for_on_the_thread_while_the_loop_runs(
    tmp_path: Path, other_process_writer: sqlite3.Connection, trips: list[str]
) -> None:
    made, _shared = await _engine_with(tmp_path / "shared.db", busy_seconds=10, read_budget=0.002)
    trips.clear()
    try:
        other_process_writer.execute("BEGIN IMMEDIATE")
        other_process_writer.execute("INSERT INTO t (name) VALUES ('elsewhere')")
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, other_process_writer.execute, "COMMIT")
        with Ticker() as ticker:
            async with made.begin() as connection:
                rows = [{"name": "here"}, {"name": "and here"}]
                await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), rows)
        # SQLite refused the inline write (busy), the thread waited for the lock and wrote every row, the loop
        # kept running.
        assert trips == ["_run"]
        assert ticker.ticks >= 20
        async with made.connect() as connection:
            names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
        assert names == ["elsewhere", "here", "and here"]
    finally:
        await made.dispose()


async def test_a_long_read_moves_to_the_thread_and_is_sent_there_at_once_next_time(
    tmp_path: Path, trips: list[str]
) -> None:
    made, shared = await _engine_with(tmp_path / "shared.db", busy_seconds=10, read_budget=0.002)
    try:
        async with made.connect() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('inside')"))  # a transaction is open
            trips.clear()
            with Ticker() as ticker:
                assert (await connection.execute(text(_LONG_READ))).scalar_one() == 3_000_000
            assert trips == ["_run"]
            assert _LONG_READ in shared.slow
            assert ticker.ticks >= 3  # the loop ran while SQLite counted
            # Stopping the read did not roll back the transaction it ran in.
            await connection.commit()
            started = time.perf_counter()
            assert (await connection.execute(text(_LONG_READ))).scalar_one() == 3_000_000
            thread_alone = time.perf_counter() - started
            assert trips == ["_run", "_run"]
            assert (await connection.execute(text("SELECT name FROM t"))).scalars().all() == ["inside"]
        assert thread_alone > 0.002  # the read is long indeed (else the test shows nothing)
    finally:
        await made.dispose()


async def test_a_short_read_inside_its_budget_stays_inline(tmp_path: Path, trips: list[str]) -> None:
    made, shared = await _engine_with(tmp_path / "shared.db", busy_seconds=10, read_budget=10.0)
    try:
        async with made.connect() as connection:
            trips.clear()
            assert (await connection.execute(text(_LONG_READ))).scalar_one() == 3_000_000
        assert trips == []
        assert not shared.slow
    finally:
        await made.dispose()


# A write that runs for a good while in SQLite alone (tens to hundreds of ms), whatever the machine.
_LONG_WRITE = (
    "INSERT INTO t (name) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
    "SELECT 'row ' || i FROM n"
)


async def test_work_marked_long_runs_on_the_thread_while_the_loop_runs_and_still_queues_at_the_gate(
    engine: AsyncEngine, trips: list[str]
) -> None:
    await _two_in_the_pool(engine)
    trips.clear()
    order: list[str] = []
    long_holds = asyncio.Event()
    ticks_while_writing: list[int] = []

    async def long_work() -> None:
        with off_the_loop():
            async with engine.begin() as connection:
                before = ticker.ticks
                await connection.execute(text(_LONG_WRITE))
                ticks_while_writing.append(ticker.ticks - before)
                long_holds.set()
                await asyncio.sleep(0.05)
                await connection.execute(text("SELECT count(*) FROM t"))
                order.append("long work commits")

    async def other_writer() -> None:
        await long_holds.wait()
        async with engine.begin() as connection:  # not marked: inline, once the gate is free
            await connection.execute(text("INSERT INTO t (name) VALUES ('after')"))
            order.append("other writer wrote")

    with Ticker() as ticker:
        await asyncio.gather(asyncio.create_task(long_work()), asyncio.create_task(other_writer()))
    assert ticks_while_writing[0] >= 3  # the loop ran while SQLite wrote
    assert order == ["long work commits", "other writer wrote"]
    # The long work's two statements and its commit went to the thread; the other writer's did not.
    assert trips == ["_run", "_run", "commit"]
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 300_001
