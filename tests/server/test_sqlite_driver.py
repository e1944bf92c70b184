"""The SQLite connections the engine makes: one trip to the database thread per statement, same answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kibitz.server import sqlite_driver
from kibitz.server.db import make_engine
from kibitz.settings import Settings


async def test_a_statement_takes_one_trip_and_answers_as_sqlite_does(tmp_path: Path) -> None:
    connection = await sqlite_driver.connect(tmp_path / "one.db", busy_seconds=1)
    trips = 0

    class Counted:
        """Counts the calls sent to the connection's thread (its queue is read by the thread as before)."""

        def __init__(self, queue: Any) -> None:
            self.queue = queue

        def put_nowait(self, item: Any) -> None:
            nonlocal trips
            trips += 1
            self.queue.put_nowait(item)

    connection._tx = Counted(connection._tx)  # type: ignore[assignment]
    try:
        cursor = connection.cursor()
        await cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
        await cursor.executemany("INSERT INTO t (name) VALUES (?)", [("a",), ("b",), ("c",)])
        assert cursor.rowcount == 3
        trips = 0
        await cursor.execute("INSERT INTO t (name) VALUES (?)", ("d",))
        assert (cursor.lastrowid, trips) == (4, 1)
        await cursor.execute("UPDATE t SET name = name || '!' WHERE id > ? RETURNING id", (2,))
        assert await cursor.fetchall() == [(3,), (4,)]
        assert cursor.rowcount == 2
        await cursor.execute("SELECT id, name FROM t ORDER BY id")
        assert cursor.description is not None
        assert [d[0] for d in cursor.description] == ["id", "name"]
        assert await cursor.fetchone() == (1, "a")
        assert await cursor.fetchmany(2) == [(2, "b"), (3, "c!")]
        assert await cursor.fetchall() == [(4, "d!")]
        assert await cursor.fetchone() is None
        await cursor.close()
        assert trips == 3
        with pytest.raises(Exception, match="UNIQUE"):
            await cursor.execute("INSERT INTO t (name) VALUES ('a')")
    finally:
        await connection.close()


async def test_a_long_answer_is_fetched_a_batch_at_a_time(tmp_path: Path) -> None:
    connection = await sqlite_driver.connect(tmp_path / "long.db", busy_seconds=1)
    try:
        cursor = connection.cursor()
        count = sqlite_driver.BATCH * 2 + 7
        await cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT i FROM n",
            (count,),
        )
        first = await cursor.fetchmany(sqlite_driver.BATCH + 1)
        rest = await cursor.fetchall()
        assert [i for (i,) in first + rest] == list(range(1, count + 1))
        # A cursor closed with rows still in the database drops them.
        endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"
        await cursor.execute(endless)
        assert await cursor.fetchone() == (1,)
        await cursor.close()
        await cursor.execute("SELECT 42")
        assert await cursor.fetchall() == [(42,)]
    finally:
        await connection.close()


async def test_the_engine_streams_and_keeps_constraints(tmp_path: Path) -> None:
    engine = make_engine(Settings.load(data_dir=tmp_path / "data"))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE p (id INTEGER PRIMARY KEY)"))
            await connection.execute(
                text("CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES p (id))")
            )
            count = sqlite_driver.BATCH + 500
            await connection.execute(
                text("INSERT INTO p (id) VALUES (:id)"), [{"id": i} for i in range(count)]
            )
            streamed = [row.id async for row in await connection.stream(text("SELECT id FROM p ORDER BY id"))]
            assert streamed == list(range(count))
        with pytest.raises(IntegrityError):  # the pragmas still apply: foreign keys are enforced
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO c (id, p) VALUES (1, -1)"))
    finally:
        await engine.dispose()
