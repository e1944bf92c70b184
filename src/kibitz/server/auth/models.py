"""Tables of people and their API tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow


class User(Base):
    """A person who can sign in. `email`, `name` and `handle` are sealed with the user's key.

    Lookups by email (login) and by handle (mentions) use the keyed blind indexes, which are also what
    makes each unique.
    """

    __tablename__ = "user_account"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    email_index: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    # The name people write after `@` to mention someone.
    handle: Mapped[str] = mapped_column(Text)
    handle_index: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """An API token: only its SHA-256 is kept, the token itself is shown once."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    # "session" for a login's token, "token" for a named token a person created; a password change ends the
    # sessions, a named token lives until it expires or is revoked.
    kind: Mapped[str] = mapped_column(String(16), default="session", server_default="session")
    # Space-separated subset of "read write admin"; a login's session has all three.
    scopes: Mapped[str] = mapped_column(
        String(64), default="read write admin", server_default="read write admin"
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
