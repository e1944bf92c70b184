"""Opaque cursors for keyset pagination over `(created_at, id)`."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from kibitz.ids import is_id
from kibitz.server.errors import ValidationFailed

MAX_LIMIT = 200


def encode_cursor(created_at: dt.datetime, row_id: str) -> str:
    """Return the cursor that continues after the row `(created_at, row_id)`."""
    raw = json.dumps([created_at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """Return the position a cursor names; a cursor not made by `encode_cursor` is a validation error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        when = dt.datetime.fromisoformat(created)
        if when.tzinfo is None or not isinstance(row_id, str) or not is_id(row_id):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not valid.", [{"loc": ["query", "cursor"]}]) from None
    return when, row_id
