"""Random public ids: short enough to type, long enough never to collide or be guessed."""

import secrets

# Crockford's base32 without the letters people confuse (i, l, o, u).
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ID_LENGTH = 16


def new_id() -> str:
    """Return a fresh 16-character id (80 random bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def is_id(value: str) -> bool:
    """Tell whether a string has the shape of an id (so malformed ids are 'not found' without a query)."""
    return len(value) == ID_LENGTH and all(c in _ALPHABET for c in value)
