"""Rotating the KEK file while servers run (`kibitz server rotate-kek`), and a team's data keys.

Steps, each safe to be interrupted:

1. The new KEK is written beside the KEK file as `<kek file>.next` (mode 0600, flushed to disk). If that
   file already exists, an earlier rotation was interrupted, and it is resumed with that same key.
2. The keystore's active KEK becomes the new one (one committed row): keys made from then on, by any
   process, are wrapped by it; processes find it in `.next` when they meet its id.
3. Every data key is rewrapped, in batches of one transaction each. Each row names the KEK that wraps it,
   and both KEK files are on disk, so every key stays readable throughout.
4. `.next` is renamed over the KEK file (an atomic rename, then the directory is flushed): the old KEK is
   gone, and no row needs it.

A crash before step 4 leaves both files: running the command again resumes. A crash after it leaves
only the new KEK, and every row is wrapped by it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, or_, select, update

from kibitz.server.crypto.envelope import key_id_of
from kibitz.server.crypto.kek import (
    LocalKek,
    generate_kek,
    kek_file_path,
    kek_from_environment,
    next_kek_path,
    read_kek_bytes,
    read_kek_file,
    sync_directory,
    write_kek_file,
)
from kibitz.server.crypto.keystore import Keystore, OwnerKind, data_key_table
from kibitz.server.crypto.registry import SEALED_TABLES
from kibitz.server.crypto.sealer import Owner, is_sealed
from kibitz.server.errors import KekUnusable, NotFound
from kibitz.server.teams.models import Team
from kibitz.server.unit_of_work import Sessions, transaction
from kibitz.settings import Settings


@dataclass(frozen=True)
class RotationResult:
    """What a KEK rotation did."""

    old_kek: str
    new_kek: str
    rewrapped: int
    resumed: bool


async def rotate_kek(settings: Settings, *, new_kek_file: Path | None = None) -> RotationResult:
    """Rewrap every data key with a new KEK (from `new_kek_file`, else new), then make it the KEK file."""
    if kek_from_environment(settings):
        raise KekUnusable(
            "the key-encryption key comes from KIBITZ_KEK: rotate-kek rotates the KEK file only "
            "(unset KIBITZ_KEK to use a file)"
        )
    path = kek_file_path(settings)
    old = read_kek_file(path)
    pending = next_kek_path(path)
    resumed = pending.exists()
    if resumed:
        new = read_kek_file(pending)
        if new_kek_file is not None and read_kek_file(new_kek_file).key_id != new.key_id:
            raise KekUnusable(
                f"an interrupted rotation to {new.key_id} waits in {pending}: run rotate-kek again without "
                "--new-kek-file to finish it first"
            )
    else:
        if new_kek_file is not None:
            key = read_kek_bytes(new_kek_file)
            if LocalKek(key).key_id == old.key_id:
                raise KekUnusable(f"{new_kek_file} holds the KEK already in use ({old.key_id})")
        else:
            key = generate_kek()
        write_kek_file(pending, key)
        new = read_kek_file(pending)

    keystore = await Keystore.open(settings)
    try:
        rewrapped = await keystore.rewrap_all(new)
    finally:
        await keystore.close()
    os.replace(pending, path)
    sync_directory(path.parent)
    return RotationResult(old.key_id, new.key_id, rewrapped, resumed)


@dataclass(frozen=True)
class TeamRotation:
    """What a team's data-key rotation did."""

    team_id: str
    # The team key and the membership keys of the team that got a new active key.
    rotated_keys: int
    # Sealed cells rewritten under the new keys (only with reseal).
    resealed: int


async def _team_owners(keystore: Keystore, team_id: str) -> list[tuple[OwnerKind, str]]:
    table = data_key_table
    async with keystore.engine.connect() as connection:
        rows = await connection.execute(
            select(table.c.owner_kind, table.c.owner_id)
            .where(
                table.c.retired_at.is_(None),
                or_(
                    and_(table.c.owner_kind == OwnerKind.TEAM.value, table.c.owner_id == team_id),
                    and_(
                        table.c.owner_kind == OwnerKind.MEMBERSHIP.value,
                        table.c.owner_id.startswith(f"{team_id}:", autoescape=True),
                    ),
                ),
            )
            .order_by(table.c.owner_kind, table.c.owner_id)
        )
        return [(OwnerKind(kind), owner_id) for kind, owner_id in rows]


async def _key_owners(keystore: Keystore, key_ids: set[str]) -> dict[str, tuple[OwnerKind, str]]:
    table = data_key_table
    async with keystore.engine.connect() as connection:
        rows = await connection.execute(
            select(table.c.key_id, table.c.owner_kind, table.c.owner_id).where(table.c.key_id.in_(key_ids))
        )
        return {key_id: (OwnerKind(kind), owner_id) for key_id, kind, owner_id in rows}


async def reseal_team(sessions: Sessions, keystore: Keystore, team_id: str) -> int:
    """Rewrite every sealed cell of a team that is sealed with a retired key under its owner's active key.

    Each cell is rewritten with a compare-and-set (`WHERE column = old value`), so a concurrent edit is never
    overwritten; one transaction per table keeps the work resumable (run it again after an interruption).
    """
    resealed = 0
    for entry in SEALED_TABLES:
        if entry.owner == "user":
            continue  # a person's profile and tokens belong to no team
        table = entry.table
        team_column = table.c.team_id if "team_id" in table.c else table.c.id
        names = dict.fromkeys(
            [*table.primary_key.columns.keys(), *(c.key for c in entry.row), *(c.key for c in entry.columns)]
        )
        async with transaction(sessions) as session:
            sealer = session.sealer
            rows = (
                (
                    await session.execute(
                        select(*(table.c[name] for name in names)).where(team_column == team_id)
                    )
                )
                .mappings()
                .all()
            )
            key_ids = {
                key_id_of(row[c.key])
                for row in rows
                for c in entry.columns
                if row[c.key] and is_sealed(row[c.key])
            }
            owners = await _key_owners(keystore, key_ids) if key_ids else {}
            for row in rows:
                cell_row = entry.row_of(dict(row))
                for column in entry.columns:
                    old = row[column.key]
                    if not old or not is_sealed(old) or key_id_of(old) not in owners:
                        continue
                    kind, owner_id = owners[key_id_of(old)]
                    active_id, _key = await keystore.data_key(kind, owner_id)
                    if active_id == key_id_of(old):
                        continue
                    plain = await sealer.open(old, column, row=cell_row)
                    new = await sealer.seal(Owner(kind, owner_id), plain, column, row=cell_row)
                    keys = [c == row[c.key] for c in table.primary_key.columns]
                    result = await session.execute(
                        update(table).where(*keys, table.c[column.key] == old).values({column.key: new})
                    )
                    resealed += int(getattr(result, "rowcount", 0) or 0)
    return resealed


async def rotate_team(
    sessions: Sessions, keystore: Keystore, team_id: str, *, reseal: bool = False
) -> TeamRotation:
    """Give a team's key and its memberships' keys new active keys; with `reseal`, rewrite old cells too.

    Retired keys stay in the keystore (what they sealed stays readable) until an erasure destroys them.
    """
    async with sessions() as session:
        if await session.scalar(select(Team.id).where(Team.id == team_id)) is None:
            raise NotFound(f"There is no team {team_id}.")
    owners = await _team_owners(keystore, team_id)
    for kind, owner_id in owners:
        await keystore.rotate(kind, owner_id)
    resealed = await reseal_team(sessions, keystore, team_id) if reseal else 0
    return TeamRotation(team_id, len(owners), resealed)
