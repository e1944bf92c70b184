"""Unambiguous byte encodings of several fields, for associated data and key contexts."""

from __future__ import annotations


def frame(*fields: str | bytes) -> bytes:
    """Encode fields as 4-byte big-endian length + bytes each, so no two field lists encode alike."""
    # Naive joining would let ("ab", "c") and ("a", "bc") authenticate the same ciphertext.
    out = bytearray()
    for field in fields:
        data = field.encode("utf-8") if isinstance(field, str) else field
        out += len(data).to_bytes(4, "big")
        out += data
    return bytes(out)
