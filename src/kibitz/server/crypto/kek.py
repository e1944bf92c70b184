"""The key-encryption key (KEK): wraps data keys; never stored in any database.

`KeyEncryptionKey` is the interface a KMS can implement (wrap/unwrap with a context bound as associated
data, which AWS KMS, Google Cloud KMS and Vault transit all offer). `LocalKek` is the built-in one: 32 bytes
from the file `KIBITZ_KEK_FILE` (default `<data dir>/kek.key`, created with mode 0600 on first use, refused
when group or others have any permission) or from `KIBITZ_KEK` (base64 of 32 bytes). A KEK's id is a keyed
fingerprint of it, so the same key read from the file or the environment has the same id, and the id says
nothing about the key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kibitz.server.crypto.framing import frame
from kibitz.server.errors import KekUnusable
from kibitz.settings import Settings

KEK_BYTES = 32
_NONCE_BYTES = 12


@runtime_checkable
class KeyEncryptionKey(Protocol):
    """What the keystore needs from a key-encryption key (a local key or a KMS)."""

    @property
    def key_id(self) -> str:
        """Return a stable id that reveals nothing about the key."""
        ...

    async def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """Encrypt a data key, binding it to `context` (the key's id and owner)."""
        ...

    async def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Decrypt a wrapped data key; raise KekUnusable if it was not wrapped by this KEK for `context`."""
        ...


class LocalKek:
    """A KEK held in memory: AES-256-GCM key wrapping with a random nonce."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEK_BYTES:
            raise KekUnusable(f"a key-encryption key has {KEK_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        fingerprint = hmac.new(key, b"kibitz/kek-id", hashlib.sha256).hexdigest()[:16]
        self._key_id = f"kek-{fingerprint}"

    @property
    def key_id(self) -> str:
        """Return the KEK's fingerprint id."""
        return self._key_id

    def __repr__(self) -> str:
        return f"LocalKek({self._key_id})"

    async def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """Encrypt a data key: nonce || ciphertext || tag."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, frame(b"kibitz/wrap", self._key_id, context))

    async def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """Decrypt a wrapped data key (KekUnusable if it does not authenticate)."""
        try:
            return self._aead.decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], frame(b"kibitz/wrap", self._key_id, context)
            )
        except (InvalidTag, ValueError):
            raise KekUnusable(
                f"a data key does not open with the key-encryption key {self._key_id}"
            ) from None


def generate_kek() -> bytes:
    """Return 32 fresh random bytes for a KEK."""
    return os.urandom(KEK_BYTES)


def encode_kek(key: bytes) -> str:
    """Return the text form of a KEK (base64), as KIBITZ_KEK and the KEK file hold it."""
    return base64.b64encode(key).decode("ascii")


def decode_kek(text: str, where: str) -> LocalKek:
    """Read a KEK from its base64 text form; `where` names the source in the error."""
    return LocalKek(_decode_key(text, where))


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KekUnusable(f"{where} is not base64 of {KEK_BYTES} bytes") from None
    if len(key) != KEK_BYTES:
        raise KekUnusable(f"{where} holds {len(key)} bytes, a key-encryption key has {KEK_BYTES}")
    return key


def kek_file_path(settings: Settings) -> Path:
    """Return where the KEK file is (KIBITZ_KEK_FILE, else kek.key in the data directory)."""
    return settings.kek_file if settings.kek_file is not None else settings.data_dir / "kek.key"


def next_kek_path(path: Path) -> Path:
    """Return where a KEK rotation keeps the new KEK until every data key is rewrapped."""
    return path.with_name(path.name + ".next")


def write_kek_file(path: Path, key: bytes) -> None:
    """Create a KEK file with mode 0600 (never replacing one; FileExistsError) and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written whole under a private name, then linked into place: a process starting at the same moment
    # sees either no file or the complete one, and link() fails rather than replace a KEK.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(descriptor, (encode_kek(key) + "\n").encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Flush a directory's entries (a created or renamed file) to disk."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_kek_file(path: Path) -> LocalKek:
    """Read a KEK file, refusing one that group or others may read or write."""
    return LocalKek(read_kek_bytes(path))


def read_kek_bytes(path: Path) -> bytes:
    """Return the 32 bytes of a KEK file, refusing one that group or others may read or write."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KekUnusable(f"there is no key-encryption key file at {path}") from None
    if not stat.S_ISREG(mode):
        raise KekUnusable(f"{path} is not a regular file")
    if mode & 0o077:
        raise KekUnusable(
            f"{path} is accessible to group or others (mode {stat.S_IMODE(mode):04o}): "
            f"run `chmod 600 {path}`, and if others may have read it, rotate it (kibitz server rotate-kek)"
        )
    return _decode_key(path.read_text("ascii", errors="replace"), str(path))


def kek_from_file(path: Path, *, create: bool) -> LocalKek:
    """Read the KEK file, first creating it with 32 random bytes if it is missing and `create` is set."""
    if create and not path.exists():
        # Another process may create it first: then use theirs.
        with contextlib.suppress(FileExistsError):
            write_kek_file(path, generate_kek())
    return read_kek_file(path)


def kek_from_environment(settings: Settings) -> bool:
    """Tell whether the KEK comes from KIBITZ_KEK (set and not empty) rather than from a file."""
    return settings.kek is not None and bool(settings.kek.get_secret_value())


def kek_from_settings(settings: Settings, *, create: bool) -> LocalKek:
    """Return the configured KEK: KIBITZ_KEK if set, else the KEK file (created when `create`)."""
    if kek_from_environment(settings):
        return decode_kek(settings.kek.get_secret_value() if settings.kek else "", "KIBITZ_KEK")
    return kek_from_file(kek_file_path(settings), create=create)


def keks_on_disk(settings: Settings) -> list[KeyEncryptionKey]:
    """Return the configured KEK and, during a rotation, the new one waiting beside the KEK file."""
    if kek_from_environment(settings):
        return [kek_from_settings(settings, create=False)]
    path = kek_file_path(settings)
    found: list[KeyEncryptionKey] = []
    for candidate in (path, next_kek_path(path)):
        if candidate.exists():
            found.append(read_kek_file(candidate))
    return found
