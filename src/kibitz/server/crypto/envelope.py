"""Sealing one value with a data key: AES-256-GCM bound to its table, column, row and key id.

A sealed value is text, safe for the Text columns that hold content today:

    "kz1." + base64url-without-padding(
        version (1 byte, = 1) | kind (1 byte: "t" text, "b" bytes) | key id length (1 byte) | key id (ASCII)
        | nonce (12 random bytes) | AES-GCM ciphertext || 16-byte tag )

The associated data is `frame("kibitz/seal", version, kind, table, column, row, key id)`: the header is
authenticated, and a ciphertext copied to another row, column or table, or relabelled with another key
id, no longer opens. Every failure to open — a flipped byte anywhere, a truncated value, a moved value, the
wrong key — raises `SealBroken` and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kibitz.server.crypto.framing import frame
from kibitz.server.errors import SealBroken

PREFIX = "kz1."
VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_TEXT = ord("t")
_BYTES = ord("b")


@dataclass(frozen=True, slots=True)
class Envelope:
    """The parsed parts of a sealed value (nothing in it is secret)."""

    version: int
    kind: int
    key_id: str
    nonce: bytes
    body: bytes


def _associated_data(kind: int, key_id: str, table: str, column: str, row: str) -> bytes:
    return frame(b"kibitz/seal", bytes([VERSION, kind]), table, column, row, key_id)


def _cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a data key has {KEY_BYTES} bytes, not {len(key)}")
    return AESGCM(key)


def seal(key: bytes, key_id: str, plaintext: str | bytes, *, table: str, column: str, row: str) -> str:
    """Encrypt `plaintext` for one cell (table, column, row) under the data key `key_id`."""
    raw_key_id = key_id.encode("ascii")
    if not 0 < len(raw_key_id) < 256:
        raise ValueError("a key id has 1 to 255 ASCII characters")
    kind = _TEXT if isinstance(plaintext, str) else _BYTES
    data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
    # A random 96-bit nonce per seal: collisions stay negligible well past 2**32 seals per key.
    nonce = os.urandom(NONCE_BYTES)
    body = _cipher(key).encrypt(nonce, data, _associated_data(kind, key_id, table, column, row))
    raw = bytes([VERSION, kind, len(raw_key_id)]) + raw_key_id + nonce + body
    return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unpack(sealed: str) -> Envelope:
    """Parse a sealed value's header (raises SealBroken if it is not one)."""
    if not isinstance(sealed, str) or not sealed.startswith(PREFIX):
        raise SealBroken()
    text = sealed[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SealBroken() from None
    # Re-encoding must give the same text: otherwise two spellings would open to one value.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        raise SealBroken()
    if len(raw) < 3 or raw[0] != VERSION or raw[1] not in (_TEXT, _BYTES):
        raise SealBroken()
    key_id_end = 3 + raw[2]
    if raw[2] == 0 or len(raw) < key_id_end + NONCE_BYTES + TAG_BYTES:
        raise SealBroken()
    try:
        key_id = raw[3:key_id_end].decode("ascii")
    except UnicodeDecodeError:
        raise SealBroken() from None
    nonce = raw[key_id_end : key_id_end + NONCE_BYTES]
    return Envelope(raw[0], raw[1], key_id, nonce, raw[key_id_end + NONCE_BYTES :])


def key_id_of(sealed: str) -> str:
    """Return the id of the data key a sealed value needs (to fetch that key before opening)."""
    return unpack(sealed).key_id


def _open(key: bytes, key_id: str, sealed: str, kind: int, table: str, column: str, row: str) -> bytes:
    return _open_envelope(key, key_id, unpack(sealed), kind, table, column, row)


def _open_envelope(
    key: bytes, key_id: str, envelope: Envelope, kind: int, table: str, column: str, row: str
) -> bytes:
    if envelope.kind != kind or envelope.key_id != key_id or len(key) != KEY_BYTES:
        raise SealBroken()
    try:
        return _cipher(key).decrypt(
            envelope.nonce, envelope.body, _associated_data(kind, key_id, table, column, row)
        )
    except InvalidTag:
        raise SealBroken() from None


def open_sealed(key: bytes, key_id: str, sealed: str, *, table: str, column: str, row: str) -> str:
    """Decrypt a sealed text value of one cell; any tampering raises SealBroken."""
    data = _open(key, key_id, sealed, _TEXT, table, column, row)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - authenticated data was UTF-8 when sealed
        raise SealBroken() from None


def open_text_envelope(key: bytes, envelope: Envelope, *, table: str, column: str, row: str) -> str:
    """Decrypt an already parsed (`unpack`) text envelope of one cell with the key it names."""
    data = _open_envelope(key, envelope.key_id, envelope, _TEXT, table, column, row)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - authenticated data was UTF-8 when sealed
        raise SealBroken() from None


def open_sealed_bytes(key: bytes, key_id: str, sealed: str, *, table: str, column: str, row: str) -> bytes:
    """Decrypt a sealed bytes value of one cell; any tampering raises SealBroken."""
    return _open(key, key_id, sealed, _BYTES, table, column, row)


def new_data_key() -> bytes:
    """Return 32 fresh random bytes for a data key."""
    return os.urandom(KEY_BYTES)
