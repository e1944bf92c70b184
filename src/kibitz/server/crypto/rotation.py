"""Rotating the KEK file while servers run (`kibitz server rotate-kek`).

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

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from kibitz.errors import KekUnusable
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
from kibitz.server.crypto.keystore import Keystore, KeystoreInfo
from kibitz.settings import Settings


@dataclass(frozen=True)
class RotationResult:
    """What a KEK rotation did."""

    old_kek: str
    new_kek: str
    rewrapped: int
    resumed: bool


def rotate_kek(settings: Settings, *, new_kek_file: Path | None = None) -> RotationResult:
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

    async def rewrap() -> int:
        keystore = await Keystore.open(settings)
        try:
            return await keystore.rewrap_all(new)
        finally:
            await keystore.close()

    rewrapped = asyncio.run(rewrap())
    os.replace(pending, path)
    sync_directory(path.parent)
    return RotationResult(old.key_id, new.key_id, rewrapped, resumed)


def keystore_info(settings: Settings) -> KeystoreInfo:
    """Return the configured keystore's counts (opening it with the configured KEK)."""

    async def run() -> KeystoreInfo:
        keystore = await Keystore.open(settings)
        try:
            return await keystore.info()
        finally:
            await keystore.close()

    return asyncio.run(run())
