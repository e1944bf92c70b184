"""Backups: online copies of the database and keystore, retention, and erasure that reaches them.

Data backups are kept as long as the operator likes: every sealed value in them needs a data key. Keystore
backups are kept at most 7 days, and an erasure deletes the destroyed keys from every one of them at once
(`purge_destroyed_from_backups`), so a restore (`kibitz.server.operator.restore`) can never bring erased
data back. See docs/security.md, "Backups and restore".
"""

from kibitz.server.backup.backup import BackupResult, backup, prune
from kibitz.server.backup.purge import backup_locations, purge_destroyed_from_backups

__all__ = [
    "BackupResult",
    "backup",
    "backup_locations",
    "prune",
    "purge_destroyed_from_backups",
]
