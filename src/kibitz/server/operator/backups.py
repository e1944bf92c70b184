"""Backups: `kibitz server backup [--prune-only]` and `kibitz server restore`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kibitz.server import backup as backups
from kibitz.server.operator import restore as restoring
from kibitz.settings import Settings


def backup(settings: Settings, location: Path | None) -> backups.BackupResult:
    """Back up the configured database and keystore into `location` (else the configured one)."""
    return asyncio.run(backups.backup(settings, location))


def prune(settings: Settings, location: Path | None) -> list[Path]:
    """Delete keystore backups past their retention; return the files deleted."""
    return asyncio.run(backups.prune(settings, location))


def restore(settings: Settings, source: Path) -> restoring.RestoreResult:
    """Restore the newest backup in `source` into the new, empty data directory of `settings`."""
    return asyncio.run(restoring.restore(settings, source))
