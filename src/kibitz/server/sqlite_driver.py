"""SQLite through aiosqlite with one thread hand-off per statement instead of four.

aiosqlite runs every call on the connection in its own thread, and SQLAlchemy's adapter makes four calls per
statement (open a cursor, execute, fetch the rows, close the cursor): four trips to that thread and back,
about half a millisecond of CPU in all, which was most of what a statement cost. Here a cursor is opened,
executed, fetched and closed in one trip. Rows are fetched a batch at a time, so a streamed query (the
restore's scan of whole tables) still holds one batch in memory, not the table.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
# Rows fetched in the statement's own trip; a larger answer takes one more trip per batch.
BATCH = 1000
_Description = tuple[tuple[str, None, None, None, None, None, None], ...] | None


class _Done:
    """What a trip to the database thread brings back."""

    __slots__ = ("cursor", "description", "lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor, rows: list[Any], keep: bool) -> None:
        self.description: _Description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self.rows = rows
        # Kept open only while it may have more rows.
        self.cursor = cursor if keep else None
        if not keep:
            cursor.close()


async def _in_thread(connection: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` in the connection's thread, through aiosqlite's own queue to it."""
    run: Callable[..., Awaitable[T]] = connection._execute
    return await run(fn, *args)


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Done:
    """Open a cursor, execute, fetch the first batch, and close it unless more rows may follow."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchmany(BATCH) if cursor.description else []
    except BaseException:
        cursor.close()
        raise
    return _Done(cursor, rows, keep=len(rows) == BATCH)


def _more(cursor: sqlite3.Cursor, size: int | None) -> list[Any]:
    """Fetch more rows (all when `size` is None) and close the cursor once it has no more."""
    rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
    if size is None or len(rows) < size:
        cursor.close()
    return rows


class OneTripCursor:
    """The part of aiosqlite's cursor SQLAlchemy uses, executing in a single trip to the database thread."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._open: sqlite3.Cursor | None = None
        self._rows: deque[Any] = deque()
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _execute(self, sql: str, parameters: Any, many: bool) -> OneTripCursor:
        await self.close()
        done: _Done = await _in_thread(self._connection, _run, self._connection._conn, sql, parameters, many)
        self.description, self.rowcount, self.lastrowid = done.description, done.rowcount, done.lastrowid
        self._rows = deque(done.rows)
        self._open = done.cursor
        return self

    async def execute(self, sql: str, parameters: Any = ()) -> OneTripCursor:
        """Execute one statement and fetch its first rows, in one trip."""
        return await self._execute(sql, () if parameters is None else parameters, False)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneTripCursor:
        """Execute one statement for each set of parameters, in one trip."""
        return await self._execute(sql, parameters, True)

    async def _fill(self, size: int | None) -> None:
        if self._open is not None and (size is None or len(self._rows) < size):
            cursor, wanted = self._open, None if size is None else max(size, BATCH)
            rows: list[Any] = await _in_thread(self._connection, _more, cursor, wanted)
            if wanted is None or len(rows) < wanted:
                self._open = None
            self._rows.extend(rows)

    async def fetchone(self) -> Any:
        """Return the next row, or None."""
        await self._fill(1)
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Return up to `size` (default `arraysize`) more rows."""
        wanted = self.arraysize if size is None else size
        await self._fill(wanted)
        return [self._rows.popleft() for _ in range(min(wanted, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        """Return every remaining row."""
        await self._fill(None)
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        """Drop the remaining rows (a trip only if the database still holds some)."""
        self._rows.clear()
        if self._open is not None:
            cursor, self._open = self._open, None
            await _in_thread(self._connection, cursor.close)


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors execute in one trip (`OneTripCursor`)."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        """Return a cursor; it reaches the database thread only when it executes."""
        return OneTripCursor(self)


async def connect(path: Path, busy_seconds: float) -> OneTripConnection:
    """Open a connection to a SQLite file as SQLAlchemy's aiosqlite dialect would, with one-trip cursors."""
    # As the dialect does: the connection is used from aiosqlite's thread, and that thread must not keep
    # the process alive.
    connection = OneTripConnection(
        lambda: sqlite3.connect(str(path), timeout=busy_seconds, check_same_thread=False), iter_chunk_size=64
    )
    connection._thread.daemon = True
    await connection  # starts the thread and connects in it
    return connection
