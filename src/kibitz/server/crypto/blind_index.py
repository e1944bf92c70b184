"""Keyed blind indexes: equality lookups on sealed values without storing anything a dump can reverse.

`blind_index(key, purpose, value)` is HMAC-SHA256 under an index key over `frame(purpose, normalised
value)`. The purpose (`"user.email"`, `"marker.path"`, `"repo.remote"`, ...) is a domain label: the same text
indexed for two purposes, or under two teams' index keys, gives unrelated digests, so one index cannot be
joined against another. Without the key a digest cannot be tested against guesses, unlike a plain hash of
an email.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from kibitz.server.crypto.framing import frame

INDEX_KEY_BYTES = 32


def normalise_email(value: str) -> str:
    """Normalise an email for lookups: NFC, surrounding space removed, case-folded."""
    return unicodedata.normalize("NFC", value).strip().casefold()


def normalise_exact(value: str) -> str:
    """Normalise text compared exactly (paths, remotes already normalised): NFC only."""
    return unicodedata.normalize("NFC", value)


def blind_index(key: bytes, purpose: str, value: str) -> str:
    """Return the hex HMAC-SHA256 of an already normalised value under an index key and a purpose."""
    if len(key) != INDEX_KEY_BYTES:
        raise ValueError(f"an index key has {INDEX_KEY_BYTES} bytes, not {len(key)}")
    if not purpose:
        raise ValueError("a blind index needs a purpose")
    return hmac.new(key, frame(b"kibitz/blind-index", purpose, value), hashlib.sha256).hexdigest()


def index_matches(key: bytes, purpose: str, value: str, stored: str) -> bool:
    """Tell in constant time whether `stored` is the blind index of `value` for `purpose`."""
    return hmac.compare_digest(blind_index(key, purpose, value), stored)
