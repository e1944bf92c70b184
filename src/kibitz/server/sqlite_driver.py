"""The SQLite driver under SQLAlchemy's async engine: statements run on the event loop's thread, waits on
aiosqlite's.

aiosqlite runs each call on the connection's own thread and hands the result back to the event loop. For
the small statements a request makes that trip costs about ten times SQLite's own work (a follower lookup:
6 µs in SQLite, 60 µs with the trip), so `InlineConnection` runs a statement on the loop's thread, at once,
and sends it to the connection's thread only when it would make the loop wait:

- **Another writer.** SQLite lets one connection write at a time. Writers of this process queue on the
  engine's write gate (an `asyncio.Lock` per event loop), taken by the statement that opens a transaction
  and given back when it commits or rolls back, so they wait for each other without polling and never
  collide inside SQLite. A statement the database itself refuses at once (busy: another process, or another
  engine on the same file, holds the write lock) is run again on the connection's thread, which waits up to
  the connection's timeout as SQLite's busy handler does; a refused statement changed nothing.
- **A long read.** A SELECT run inline gets `READ_BUDGET_SECONDS`; past it SQLite stops it (a progress
  handler) and it runs again, whole, on the connection's thread, where it takes as long as it needs while the
  loop serves other requests. Its SQL is remembered (`Shared.slow`), so the next run of the same statement
  goes to the thread at once. Only reads are stopped: stopping a write inside a transaction would roll the
  whole transaction back.
- **PRAGMAs**, which may wait by design (a checkpoint waits for readers), always run on the thread.
- **Work known to be long.** A block the caller marks with `off_the_loop()` (an erasure deleting a whole
  team: seconds of deletes) runs its statements, commit and rollback on the connection's thread, so that
  the loop serves readers meanwhile; its writes still queue at the gate.

Other writes run inline to the end: they hold the database's only write lock, so every other writer waits
for them wherever they run, and stopping one would roll its transaction back. The connection is opened with
`check_same_thread=False`; its calls never overlap, since each is awaited before the next is made.
Everything else is aiosqlite's: the thread, its queue, the connection's opening and closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import sqlite3
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

_T = TypeVar("_T")

# What a statement leaves on its cursor: description, rows, rowcount, lastrowid.
_Outcome = tuple[Any, list[Any], int, int | None]

# How long a read may run on the event loop's thread before it is moved to the connection's.
READ_BUDGET_SECONDS = 0.002
# How often SQLite asks whether a read's budget is spent, in its virtual machine's steps (tens of µs).
_BUDGET_CHECK_STEPS = 1000
# Statements before which Python's sqlite3 opens a transaction (its default, "legacy" transaction control):
# the first of them in a transaction takes the write gate.
_OPENING = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})
# How many statements known to be slow are remembered.
_SLOW_KEPT = 256
# Set inside `off_the_loop()`: the task's statements go to the connections' threads.
_OFF_THE_LOOP: ContextVar[bool] = ContextVar("kibitz_sqlite_off_the_loop", default=False)


@contextlib.contextmanager
def off_the_loop() -> Iterator[None]:
    """Run this task's SQLite statements, commits and rollbacks in the block on the connections' threads.

    For work known to take long, so that the event loop serves other requests meanwhile.
    """
    token = _OFF_THE_LOOP.set(True)
    try:
        yield
    finally:
        _OFF_THE_LOOP.reset(token)


_FIRST_WORD = re.compile(r"\s*([A-Za-z]*)")


def _keyword(sql: str) -> str:
    """Return a statement's first word, upper-cased."""
    found = _FIRST_WORD.match(sql)
    return found.group(1).upper() if found else ""


def _refused(error: sqlite3.OperationalError, code: int) -> bool:
    """Tell whether SQLite gave this primary result code (extended codes included)."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == code


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


def _waiting(connection: sqlite3.Connection, busy_ms: int, call: Callable[[], _T]) -> _T:
    """Make a call on the connection's thread, letting SQLite wait up to `busy_ms` for a lock."""
    connection.execute(f"PRAGMA busy_timeout={busy_ms}")
    try:
        return call()
    finally:
        connection.execute("PRAGMA busy_timeout=0")


class Shared:
    """What an engine's connections share: the write gate per event loop, and the reads known to be slow."""

    def __init__(self, read_budget: float = READ_BUDGET_SECONDS) -> None:
        self.read_budget = read_budget
        self.busy_seconds = 5.0
        self.slow: OrderedDict[str, None] = OrderedDict()
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def gate(self) -> asyncio.Lock:
        """Return the running loop's write gate (an engine may serve several loops, one after another)."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Lock()
        return gate

    def found_slow(self, sql: str) -> None:
        """Remember a read that outran its budget (the newest few hundred)."""
        self.slow[sql] = None
        self.slow.move_to_end(sql)
        if len(self.slow) > _SLOW_KEPT:
            self.slow.popitem(last=False)


class InlineCursor:
    """A cursor whose statement runs, and whose rows are read, in one call (see the module's docstring)."""

    arraysize = 1

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement and keep its rows."""
        outcome = await self._connection.run(sql, parameters, many=False)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> InlineCursor:
        """Run one statement for each set of parameters."""
        outcome = await self._connection.run(sql, parameters, many=True)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

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


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection running statements, commits and rollbacks on the event loop's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], shared: Shared) -> None:
        super().__init__(connector, iter_chunk_size=64)
        # As SQLAlchemy does for aiosqlite's own connections: the thread must not keep the process alive.
        self._thread.daemon = True
        self._shared = shared
        self._gate: asyncio.Lock | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None
        self._deadline = math.inf
        self._budgeted = False

    # aiosqlite's `cursor()` is a coroutine that opens the cursor on the thread; SQLAlchemy's adapter only
    # ever enters this one (`async with` / `__aenter__`).
    def cursor(self) -> InlineCursor:  # type: ignore[override]
        """Return a cursor whose statements run inline."""
        return InlineCursor(self)

    def _over_budget(self) -> bool:
        return time.perf_counter() > self._deadline

    async def _on_thread(self, call: Callable[[], _T]) -> _T:
        busy_ms = round(self._shared.busy_seconds * 1000)
        # aiosqlite's own queueing of a call for its thread (untyped there).
        result: _T = await self._execute(_waiting, self._conn, busy_ms, call)  # type: ignore[no-untyped-call]
        return result

    async def run(self, sql: str, parameters: Any, many: bool) -> _Outcome:
        """Run a statement inline, or on the connection's thread when it would make the loop wait."""
        connection = self._conn
        keyword = _keyword(sql)
        if many and not isinstance(parameters, list | tuple):
            parameters = list(parameters)  # a statement refused inline runs again with the same rows
        on_thread = partial(_run, connection, sql, parameters, many)
        if keyword == "PRAGMA" or sql in self._shared.slow:
            return await self._on_thread(on_thread)
        if self._gate is None and keyword in _OPENING and not connection.in_transaction:
            await self._take_gate()
        try:
            if _OFF_THE_LOOP.get():
                return await self._on_thread(on_thread)
            reading = keyword == "SELECT"
            if reading:
                if not self._budgeted:
                    connection.set_progress_handler(self._over_budget, _BUDGET_CHECK_STEPS)
                    self._budgeted = True
                self._deadline = time.perf_counter() + self._shared.read_budget
            try:
                return _run(connection, sql, parameters, many)
            except sqlite3.OperationalError as error:
                if reading and _refused(error, sqlite3.SQLITE_INTERRUPT):
                    self._shared.found_slow(sql)
                elif not _refused(error, sqlite3.SQLITE_BUSY):
                    raise
            finally:
                self._deadline = math.inf
            # Refused or stopped before it changed anything: again, on the thread, for as long as it takes.
            return await self._on_thread(on_thread)
        finally:
            self._give_gate_back_when_done()

    async def _take_gate(self) -> None:
        gate = self._shared.gate()
        try:
            async with asyncio.timeout(self._shared.busy_seconds):
                await gate.acquire()
        except TimeoutError:
            # What SQLite says when its own busy handler gives up.
            raise sqlite3.OperationalError("database is locked") from None
        self._gate, self._gate_loop = gate, asyncio.get_running_loop()

    def _give_gate_back_when_done(self) -> None:
        connection = self._connection
        if self._gate is not None and (connection is None or not connection.in_transaction):
            self._give_gate_back()

    def _give_gate_back(self) -> None:
        gate, loop = self._gate, self._gate_loop
        self._gate = self._gate_loop = None
        if gate is None or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            gate.release()
        elif not loop.is_closed():
            # Closed from elsewhere (a finaliser): the gate belongs to its loop's thread.
            loop.call_soon_threadsafe(gate.release)

    async def _end(self, finish: Callable[[sqlite3.Connection], None]) -> None:
        try:
            if not _OFF_THE_LOOP.get():
                try:
                    finish(self._conn)
                    return
                except sqlite3.OperationalError as error:
                    if not _refused(error, sqlite3.SQLITE_BUSY):
                        raise
            await self._on_thread(partial(finish, self._conn))
        finally:
            self._give_gate_back_when_done()

    async def commit(self) -> None:
        """Commit, if a transaction is open."""
        if self._conn.in_transaction:
            await self._end(sqlite3.Connection.commit)

    async def rollback(self) -> None:
        """Roll back, if a transaction is open."""
        if self._conn.in_transaction:
            await self._end(sqlite3.Connection.rollback)

    async def close(self) -> None:
        """Close (an open transaction is rolled back) and give the write gate back."""
        try:
            await super().close()
        finally:
            self._give_gate_back()

    def stop(self) -> asyncio.Future[Any] | None:
        """Stop the thread, closing the connection, and give the write gate back (SQLAlchemy's terminate)."""
        try:
            return super().stop()
        finally:
            self._give_gate_back()


def _connect(
    shared: Shared, dialect: Dialect, _record: Any, cargs: list[Any], cparams: dict[str, Any]
) -> Any:
    # The arguments SQLAlchemy would give aiosqlite, given to our connection instead. SQLite itself never
    # waits on the loop's thread (timeout 0); a call sent to the connection's thread waits up to `timeout`.
    shared.busy_seconds = float(cparams.pop("timeout", shared.busy_seconds))
    cparams["check_same_thread"] = False
    cparams["timeout"] = 0

    def connection(*args: Any, **kwargs: Any) -> InlineConnection:
        return InlineConnection(partial(sqlite3.connect, *args, **kwargs), shared)

    return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=connection, **cparams)


def use_inline_connections(engine: AsyncEngine, read_budget: float = READ_BUDGET_SECONDS) -> Shared:
    """Make an aiosqlite engine's new connections `InlineConnection`s; return what they share."""
    shared = Shared(read_budget)
    event.listen(engine.sync_engine, "do_connect", partial(_connect, shared))
    return shared
