"""Copy SQLite's write-ahead log into the database file in the background, off the requests' path.

SQLite appends every commit to its write-ahead log; a checkpoint copies the log's pages into the database
file and syncs both to disk. Left to SQLite, the commit that finds the log past its limit runs the
checkpoint itself, inside a request and under the app's write lock, and waits for the disks' syncs there:
under a steady stream of writes, one request in a dozen or so stood still for them. Here a thread of its
own checkpoints (PASSIVE: it never waits for, nor holds up, readers and the writer) a few times a second,
so the log stays short and the requests' commits only append. SQLite's own checkpoint stays as a backstop
at a larger size (`WAL_BACKSTOP_PAGES`, set on every connection by `db.py`) for processes that run none of
this, such as the operator's commands.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kibitz.server.periodic import Periodic

log = logging.getLogger(__name__)

# How often the log is copied over. Each round that finds nothing new costs a few microseconds.
CHECKPOINT_SECONDS = 0.1
# SQLite checkpoints on a commit once the log holds this many pages (4 KiB each): far more than the
# background rounds let gather, so a request runs one only when this thread cannot keep up.
WAL_BACKSTOP_PAGES = 8_000


@dataclass(frozen=True, slots=True)
class Round:
    """What one checkpoint found: whether it was held up, the log's pages, and those now in the file."""

    busy: bool
    log_pages: int
    checkpointed_pages: int


class WalCheckpoints:
    """Checkpoints one SQLite database's log every `interval` seconds, on its own connection and thread."""

    def __init__(self, database: Path, *, interval: float = CHECKPOINT_SECONDS) -> None:
        self._database = database
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kibitz-wal")
        self._connection: sqlite3.Connection | None = None
        self._every = Periodic("kibitz-wal-checkpoints", interval, self._round)
        # A failure is logged once, not at every round until it clears.
        self._failing = False
        self.rounds = 0
        self.last: Round | None = None

    def _open(self) -> None:
        # Autocommit, and no waiting: a PASSIVE checkpoint that meets a lock does what it can and returns.
        self._connection = sqlite3.connect(self._database, timeout=0, isolation_level=None)

    def _checkpoint(self) -> Round:
        assert self._connection is not None
        busy, log_pages, checkpointed = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return Round(bool(busy), int(log_pages), int(checkpointed))

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def checkpoint(self) -> Round:
        """Run one checkpoint now (in the checkpoints' thread) and return what it found."""
        loop = asyncio.get_running_loop()
        if self._connection is None:
            await loop.run_in_executor(self._thread, self._open)
        found = await loop.run_in_executor(self._thread, self._checkpoint)
        self.rounds += 1
        self.last = found
        return found

    async def _round(self) -> None:
        try:
            await self.checkpoint()
        except sqlite3.Error as error:  # a locked or busy database: the next round tries again
            if not self._failing:
                log.warning("write-ahead log checkpoint failed: %s", type(error).__name__)
            self._failing = True
            return
        self._failing = False

    def start(self) -> None:
        """Start checkpointing in the background."""
        self._every.start()

    async def stop(self) -> None:
        """Stop checkpointing and close the connection (after a checkpoint under way has finished)."""
        await self._every.stop()
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)
