"""The data directory on disk: readable by the server's user alone, and what to do when it cannot be written.

The directory is created 0700 and every database file in it is 0600: the SQLite database is created before
SQLite opens it, because SQLite gives its WAL and shared-memory files the mode of the database file. A
directory or file left wider by an older version or by hand is narrowed at start (group and other lose
every permission; nothing is ever added, so a directory made read-only stays read-only).

A database error that says the storage cannot be written (a full disk, a read-only file system or
database, an I/O error) is a `StorageProblem`: the request gets 503 `storage_unavailable` naming it, the log
a line naming it, and `/readyz` answers 503 with it until a minute has passed without another, so a load
balancer sends requests elsewhere meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from kibitz.settings import Settings

log = logging.getLogger("kibitz.server")

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# SQLite's own files next to a database: its write-ahead log, shared memory and rollback journal.
_COMPANIONS = ("-wal", "-shm", "-journal")
_DATABASE_SUFFIXES = (".db", *(f".db{companion}" for companion in _COMPANIONS))


def narrow(path: Path) -> bool:
    """Take every permission of group and others from `path`; return whether its mode changed.

    A path that is missing, or whose mode cannot be changed (owned by another user), is left as it is.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if not mode & 0o077:
            return False
        os.chmod(path, mode & ~0o077)
    except OSError:
        return False
    log.info("narrowed the permissions of %s from %04o to %04o", path, mode, mode & ~0o077)
    return True


def private_directory(path: Path) -> None:
    """Create `path` (and its missing parents) with mode 0700, or narrow it if it exists."""
    if not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    narrow(path)


def private_database_file(path: Path) -> None:
    """Create the SQLite file `path` with mode 0600 if it is missing, and narrow it and its companions."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    for candidate in (path, *(path.with_name(path.name + companion) for companion in _COMPANIONS)):
        narrow(candidate)


def protect_data_directory(data_dir: Path) -> None:
    """Narrow an existing data directory and every SQLite file in it (the keystore's among them)."""
    if not data_dir.is_dir():
        return
    narrow(data_dir)
    try:
        entries = list(data_dir.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(_DATABASE_SUFFIXES) and entry.is_file():
            narrow(entry)


# What readiness calls a full disk under the data directory; SQLite grows its WAL by pages, a commit by more.
MIN_FREE_BYTES = 1024 * 1024
# How long a storage failure keeps /readyz at 503 once no request has failed on it again.
FAILURE_HOLD_SECONDS = 60.0


@dataclass(frozen=True)
class StorageProblem:
    """Why the database cannot be written: a stable cause and a sentence for people."""

    cause: str
    description: str


DISK_FULL = StorageProblem("disk_full", "the disk holding the database is full")
READ_ONLY = StorageProblem("read_only", "the database or its directory is read-only")
CANNOT_OPEN = StorageProblem(
    "cannot_open", "the database file cannot be opened or created (missing, or its directory not writable)"
)
IO_ERROR = StorageProblem("io_error", "the disk holding the database reports an I/O error")

_BY_SQLITE_CODE = {
    sqlite3.SQLITE_FULL: DISK_FULL,
    sqlite3.SQLITE_READONLY: READ_ONLY,
    sqlite3.SQLITE_CANTOPEN: CANNOT_OPEN,
    sqlite3.SQLITE_IOERR: IO_ERROR,
}
# PostgreSQL's SQLSTATEs: disk_full, read_only_sql_transaction, io_error.
_BY_SQLSTATE = {"53100": DISK_FULL, "25006": READ_ONLY, "58030": IO_ERROR}
_BY_ERRNO = {errno.ENOSPC: DISK_FULL, errno.EDQUOT: DISK_FULL, errno.EROFS: READ_ONLY, errno.EIO: IO_ERROR}


def storage_problem(error: BaseException) -> StorageProblem | None:
    """Return the storage problem a database or file error reports, or None if it reports another failure."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _BY_SQLITE_CODE:
            return _BY_SQLITE_CODE[code & 0xFF]
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and state in _BY_SQLSTATE:
            return _BY_SQLSTATE[state]
        if isinstance(current, OSError) and current.errno in _BY_ERRNO:
            return _BY_ERRNO[current.errno]
        # SQLAlchemy keeps the driver's error in `orig`; drivers chain their own causes.
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return None


def where_stored(settings: Settings) -> str:
    """Return where the data lives, for a log line: the SQLite data directory, or PostgreSQL."""
    return f"SQLite in {settings.data_dir}" if settings.is_sqlite else "PostgreSQL"


def directory_problem(directory: Path) -> StorageProblem | None:
    """Return what keeps `directory` from taking writes (read-only, or under MIN_FREE_BYTES free), or None."""
    try:
        usage = os.statvfs(directory)
    except OSError:
        return CANNOT_OPEN
    if usage.f_flag & os.ST_RDONLY or not os.access(directory, os.W_OK):
        return READ_ONLY
    if usage.f_bavail * usage.f_frsize < MIN_FREE_BYTES:
        return DISK_FULL
    return None


class StorageHealth:
    """The last storage failure of one app, for readiness; the log hears of each new one once."""

    def __init__(self, hold_seconds: float = FAILURE_HOLD_SECONDS) -> None:
        self.hold_seconds = hold_seconds
        self._problem: StorageProblem | None = None
        self._at = 0.0

    def failed(self, problem: StorageProblem, where: str) -> None:
        """Record that a write failed for `problem`; log it unless it is the one already being held."""
        if self.current() != problem:
            log.error(
                "the database cannot be written: %s (%s, %s); requests that change something answer 503 "
                "storage_unavailable and /readyz answers 503 until it can",
                problem.description,
                problem.cause,
                where,
                extra={"storage_problem": problem.cause},
            )
        self._problem, self._at = problem, time.monotonic()

    def current(self) -> StorageProblem | None:
        """Return the failure of the last `hold_seconds`, if any."""
        if self._problem is not None and time.monotonic() - self._at > self.hold_seconds:
            log.info("no storage failure for %g s: ready again as far as storage goes", self.hold_seconds)
            self._problem = None
        return self._problem
