"""`kibitz server backup` and `kibitz server restore` (docs/cli.md, "Backups and restore")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kibitz.cli.context import json_option, print_json
from kibitz.cli.server_settings import load_settings
from kibitz.cli.terminal import echo


@click.command("backup")
@click.option(
    "--to",
    "location",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write the backup into DIR [default: KIBITZ_BACKUP_DIR, else backups/ in the data directory].",
)
@click.option(
    "--prune-only",
    is_flag=True,
    help="Only delete keystore backups past KIBITZ_KEYSTORE_BACKUP_DAYS (in DIR and every location used).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The server's data directory [default: your user data directory].",
)
@json_option
def server_backup(location: Path | None, prune_only: bool, data_dir: Path | None, as_json: bool) -> None:
    """Back up the database and the keystore while servers run (never the key-encryption key).

    Data backups are kept; keystore backups older than KIBITZ_KEYSTORE_BACKUP_DAYS (at most 7) are
    deleted at each backup. Keep the KEK (kek.key or KIBITZ_KEK) apart from the backups: a restore needs it.
    """
    from kibitz.server.operator.backups import backup, prune

    settings = load_settings(data_dir=data_dir)
    if prune_only:
        pruned = prune(settings, location)
        if as_json:
            print_json({"pruned": [str(path) for path in pruned]})
            return
        echo(f"Deleted {len(pruned)} keystore backups older than {settings.keystore_backup_days} days.")
        for path in pruned:
            echo(f"  {path}")
        return
    result = backup(settings, location)
    if as_json:
        print_json(
            {
                "location": str(result.location),
                "stamp": result.stamp,
                "database": result.database,
                "alembic_revision": result.alembic_revision,
                "data_file": str(result.data_file),
                "keystore_file": None if result.keystore_file is None else str(result.keystore_file),
                "manifest": str(result.manifest),
                "pruned": [str(path) for path in result.pruned],
            }
        )
        return
    echo(f"Backed up the {result.database} database and the keystore into {result.location}:")
    echo(f"  data:     {result.data_file}")
    echo(f"  keystore: {result.keystore_file or 'none (encryption at rest is off)'}")
    echo(f"  manifest: {result.manifest}")
    if result.pruned:
        echo(
            f"Deleted {len(result.pruned)} keystore backups older than {settings.keystore_backup_days} days."
        )


@click.command("restore")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help="The backup directory (the newest data and keystore backups in it are restored).",
)
@click.option(
    "--data-dir",
    required=True,
    type=click.Path(path_type=Path),
    metavar="NEW",
    help="A new or empty data directory to restore into.",
)
@json_option
def server_restore(source: Path, data_dir: Path, as_json: bool) -> None:
    """Restore the newest backup into a new data directory, replaying every erasure since.

    Rows sealed with keys the keystore backup lacks (destroyed since) are deleted, events redacted, and
    users, teams and memberships erased since are deleted. The KEK is yours to give: KIBITZ_KEK_FILE or
    KIBITZ_KEK. With KIBITZ_DATABASE_URL the dump goes into that (empty) PostgreSQL database.
    """
    from kibitz.server.operator.backups import restore

    settings = load_settings(data_dir=data_dir)
    result = restore(settings, source)
    summary: dict[str, Any] = {
        "data_dir": str(result.data_dir),
        "database": result.database,
        "data_backup": str(result.data_backup),
        "keystore_backup": None if result.keystore_backup is None else str(result.keystore_backup),
        "alembic_revision": result.alembic_revision,
        "deleted": result.deleted,
        "redacted_events": result.redacted_events,
        "erased": result.erased,
    }
    if as_json:
        print_json(summary)
        return
    echo(f"Restored {result.data_backup.name} into {result.data_dir} (revision {result.alembic_revision}).")
    echo(f"  keystore: {result.keystore_backup or 'none (encryption at rest is off)'}")
    for table, count in sorted(result.deleted.items()):
        echo(f"  deleted {count} {table} rows sealed with destroyed keys")
    if result.redacted_events:
        echo(f"  redacted {result.redacted_events} events sealed with destroyed keys")
    for kind, count in sorted(result.erased.items()):
        if count:
            echo(f"  erased {count} {kind} records erased since the backup")
    echo("Serve it with the same key-encryption key (KIBITZ_KEK_FILE or KIBITZ_KEK).")


COMMANDS: tuple[click.Command, ...] = (server_backup, server_restore)
