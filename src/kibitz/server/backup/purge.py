"""Erasure reaches the backups: destroyed owners' keys are deleted from every keystore backup Kibitz wrote."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from kibitz.server.backup import keyfiles, layout
from kibitz.server.errors import KibitzError
from kibitz.settings import Settings

log = logging.getLogger(__name__)


async def backup_locations(settings: Settings) -> list[Path]:
    """Return the configured backup location and every location recorded in the keystore, once each."""
    locations = [settings.backup_location().expanduser().resolve()]
    engine = keyfiles.keystore_engine(settings)
    if engine is not None:
        try:
            if await keyfiles.has_keystore_tables(engine):
                locations += await keyfiles.recorded_locations(engine)
        finally:
            await engine.dispose()
    return list(dict.fromkeys(locations))


async def purge_destroyed_from_backups(settings: Settings, owners: Sequence[tuple[str, str]]) -> int:
    """Delete these owners' data keys from every keystore backup, leaving tombstones; return rows removed.

    Keystore backups past the retention are deleted on the way. A location that no longer exists (an
    unmounted disk) is skipped: its backups expire within the 7-day maximum anyway. A backup file that
    cannot be purged fails the call after every other file is done, so the erasure is retried.
    """
    wanted = [(str(kind), str(owner_id)) for kind, owner_id in owners]
    locations = await backup_locations(settings)
    return await asyncio.to_thread(_purge_locations, locations, wanted, settings.keystore_backup_days)


def _purge_locations(locations: Sequence[Path], owners: Sequence[tuple[str, str]], days: int) -> int:
    removed = 0
    failures: list[str] = []
    for location in locations:
        if not location.is_dir():
            continue
        layout.prune_keystore_backups(location, days)
        for backup_file in layout.keystore_backups(location):
            try:
                removed += keyfiles.purge_file(backup_file.path, owners)
                _update_manifest(location, backup_file)
            except (OSError, sqlite3.Error) as error:
                log.error("could not purge destroyed keys from %s: %s", backup_file.path, error)
                failures.append(f"{backup_file.path}: {error}")
    if failures:
        raise KibitzError("could not purge destroyed keys from keystore backups: " + "; ".join(failures))
    return removed


def _update_manifest(location: Path, backup_file: layout.BackupFile) -> None:
    """Record the purged file's new checksum, so a restore still verifies it."""
    manifest = layout.read_manifest(location, backup_file.stamp)
    if manifest is None:
        return
    entry = manifest.get("files", {}).get("keystore")
    if isinstance(entry, dict):
        entry["sha256"] = layout.sha256_of(backup_file.path)
        layout.write_manifest(location, backup_file.stamp, manifest)
