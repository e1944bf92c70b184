"""Random public ids: short enough to type, long enough never to collide or be guessed."""

import base64
import secrets

# Crockford's base32 without the letters people confuse (i, l, o, u).
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Standard base32's digits, written in ours: 10 random bytes encode as 16 of them with no padding.
_FROM_BASE32 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)
ID_LENGTH = 16
# The shortest prefix that names an object (`kibitz show 3kq7`): 20 bits, so a clash among a team's objects
# stays rare, and short enough to type.
ID_PREFIX_MIN = 4


def new_id() -> str:
    """Return a fresh 16-character id (80 random bits)."""
    # One read of the system's randomness, not one per character (an id is made on every write).
    return base64.b32encode(secrets.token_bytes(ID_LENGTH * 5 // 8)).decode().translate(_FROM_BASE32)


def is_id(value: str) -> bool:
    """Tell whether a string has the shape of an id (so malformed ids are 'not found' without a query)."""
    return len(value) == ID_LENGTH and all(c in _ALPHABET for c in value)


def is_id_prefix(value: str) -> bool:
    """Tell whether a string can be the beginning of an id (ID_PREFIX_MIN characters or more)."""
    return ID_PREFIX_MIN <= len(value) <= ID_LENGTH and all(c in _ALPHABET for c in value)
