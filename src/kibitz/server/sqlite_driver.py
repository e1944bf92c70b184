"""The SQLite driver under SQLAlchemy's async engine: aiosqlite, with one trip to its thread per statement.

aiosqlite runs each call on the connection's own thread and hands the result back to the event loop: a
trip that costs far more than SQLite's work for the small statements a request makes. SQLAlchemy's adapter
makes four trips per statement (open a cursor, execute, fetch the rows, close the cursor) and two more per
request (commit, and the pool's rollback when the connection is given back). `OneTripConnection` does a
statement's four in one, and skips a commit or rollback when no transaction is open (a request that only
read, or the pool's reset after a commit), which SQLite reports without a trip.

Everything else is aiosqlite's: the same thread, the same queue, statements in the order they were sent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

# What a statement leaves on its cursor: description, rows, rowcount, lastrowid.
_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """A cursor whose statement runs, and whose rows are read, in one trip to the connection's thread."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def _send(self, sql: str, parameters: Any, many: bool) -> OneTripCursor:
        connection = self._connection
        # aiosqlite's own queueing of a call for its thread (untyped there).
        outcome: _Outcome = await connection._execute(  # type: ignore[no-untyped-call]
            _run, connection._conn, sql, parameters, many
        )
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def execute(self, sql: str, parameters: Any = ()) -> OneTripCursor:
        """Run one statement and keep its rows."""
        return await self._send(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneTripCursor:
        """Run one statement for each set of parameters."""
        return await self._send(sql, parameters, many=True)

    async def fetchall(self) -> list[Any]:
        """Return the rows not fetched yet."""
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Return up to `size` of the rows not fetched yet."""
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchone(self) -> Any:
        """Return the next row, or None."""
        return self._rows.pop(0) if self._rows else None

    async def close(self) -> None:
        """Forget the rows (the SQLite cursor was closed with its statement)."""
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection with `OneTripCursor`s, and no trip to commit or roll back nothing."""

    # aiosqlite's `cursor()` is a coroutine that opens the cursor on the thread; this one opens it there
    # with its statement. SQLAlchemy's adapter only ever enters it (`async with` / `__aenter__`).
    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        """Return a cursor whose statements each take one trip."""
        return OneTripCursor(self)

    async def commit(self) -> None:
        """Commit, if a transaction is open."""
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        """Roll back, if a transaction is open."""
        if self._conn.in_transaction:
            await super().rollback()


def _one_trip_connection(*args: Any, **kwargs: Any) -> OneTripConnection:
    connection = OneTripConnection(partial(sqlite3.connect, *args, **kwargs), iter_chunk_size=64)
    # As SQLAlchemy does for aiosqlite's own connections: the thread must not keep the process alive.
    connection._thread.daemon = True
    return connection


def _connect(dialect: Dialect, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
    # The arguments SQLAlchemy would give aiosqlite, given to our connection instead.
    return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=_one_trip_connection, **cparams)


def use_one_trip_connections(engine: AsyncEngine) -> None:
    """Make an aiosqlite engine's new connections `OneTripConnection`s."""
    event.listen(engine.sync_engine, "do_connect", _connect)
