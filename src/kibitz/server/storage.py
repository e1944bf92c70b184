"""The data directory on disk: readable by the server's user alone.

The directory is created 0700 and every database file in it is 0600: the SQLite database is created before
SQLite opens it, because SQLite gives its WAL and shared-memory files the mode of the database file. A
directory or file left wider by an older version or by hand is narrowed at start (group and other lose
every permission; nothing is ever added, so a directory made read-only stays read-only).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

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
