"""Where backups live in a backup directory, how they are named, and their manifests.

    DIR/data/<stamp>.db | <stamp>.pgdump    the database (kept: useless without the keys)
    DIR/keystore/<stamp>.db                 the keystore as a SQLite file (kept at most 7 days)
    DIR/manifest/<stamp>.json               format, stamp, database kind, Alembic revision, files, sha256

A stamp is the UTC time of the backup, `YYYYMMDDTHHMMSS.ffffffZ`: names sort in time order. Files are
written under a `.part` name (mode 0600, directories 0700) and renamed into place when complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_FORMAT = 1
STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
DATA = "data"
KEYSTORE = "keystore"
MANIFEST = "manifest"
DATA_SUFFIXES = (".db", ".pgdump")
PART = ".part"


def new_stamp(now: dt.datetime | None = None) -> str:
    """Return the stamp of a backup made now (or at `now`, a UTC time)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime(STAMP_FORMAT)


def stamp_time(stamp: str) -> dt.datetime | None:
    """Return the UTC time a stamp names, or None if it is not a stamp."""
    try:
        return dt.datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def private_dir(path: Path) -> Path:
    """Create a directory readable by its owner alone (0700), with its missing parents; return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def create_private_file(path: Path) -> None:
    """Create an empty file with mode 0600 (an existing one is refused: backups never overwrite)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@contextmanager
def written_in_place(final: Path) -> Iterator[Path]:
    """Yield a fresh 0600 `.part` path to write; rename it to `final` when the block succeeds."""
    part = final.with_name(final.name + PART)
    create_private_file(part)
    try:
        yield part
        os.chmod(part, 0o600)
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    sync_directory(final.parent)


def sync_directory(directory: Path) -> None:
    """Flush a directory's entries to disk, so a rename or unlink survives a crash."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BackupFile:
    """One backup file in a backup directory."""

    path: Path
    stamp: str

    @property
    def kind(self) -> str:
        """Tell the database kind of a data backup: "sqlite" or "postgresql"."""
        return "postgresql" if self.path.suffix == ".pgdump" else "sqlite"


def backups_in(directory: Path, suffixes: tuple[str, ...]) -> list[BackupFile]:
    """Return the complete backup files of a directory with these suffixes, oldest first."""
    if not directory.is_dir():
        return []
    found = [
        BackupFile(path, path.name[: -len(path.suffix)])
        for path in directory.iterdir()
        if path.is_file() and path.suffix in suffixes
    ]
    return sorted(found, key=lambda backup: backup.stamp)


def data_backups(location: Path) -> list[BackupFile]:
    """Return the data backups of a backup directory, oldest first."""
    return backups_in(location / DATA, DATA_SUFFIXES)


def keystore_backups(location: Path) -> list[BackupFile]:
    """Return the keystore backups of a backup directory, oldest first."""
    return backups_in(location / KEYSTORE, (".db",))


def manifest_path(location: Path, stamp: str) -> Path:
    """Return where the manifest of the backup with this stamp is."""
    return location / MANIFEST / f"{stamp}.json"


def read_manifest(location: Path, stamp: str) -> dict[str, Any] | None:
    """Return the manifest of a backup, or None if it has none."""
    try:
        body = json.loads(manifest_path(location, stamp).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return body if isinstance(body, dict) else None


def write_manifest(location: Path, stamp: str, body: dict[str, Any]) -> Path:
    """Write (or replace) the manifest of a backup, mode 0600."""
    path = manifest_path(location, stamp)
    private_dir(path.parent)
    part = path.with_name(path.name + PART)
    part.unlink(missing_ok=True)
    create_private_file(part)
    part.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(part, path)
    return path


def expired(path: Path, days: int, now: dt.datetime) -> bool:
    """Tell whether a keystore backup is older than `days`, by the stamp in its name or its mtime.

    The older of the two counts: a copied file (fresh mtime) is still as old as the keys it holds.
    """
    cutoff = now - dt.timedelta(days=days)
    named = stamp_time(path.name.split(".db")[0])
    try:
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except FileNotFoundError:
        return False
    oldest = min(modified, named) if named is not None else modified
    return oldest < cutoff


def prune_keystore_backups(location: Path, days: int, now: dt.datetime | None = None) -> list[Path]:
    """Delete the keystore backups (and leftover `.part` files) of a location older than `days`."""
    directory = location / KEYSTORE
    if not directory.is_dir():
        return []
    moment = now or dt.datetime.now(dt.UTC)
    removed = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and expired(path, days, moment):
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        sync_directory(directory)
    return removed
