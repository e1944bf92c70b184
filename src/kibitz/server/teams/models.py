"""Tables of teams, their members and invites."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow

ROLES = ("member", "admin", "owner")


class Team(Base):
    """A team owns repos and codemarks; `event_seq` is the last number of its event log."""

    __tablename__ = "team"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The team's IP allowlist: CIDRs separated by spaces; empty means every address may connect.
    allowlist: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Code-free mode: markers keep no code or context, only a keyed fingerprint; clients rebuild the code
    # from git.
    code_free: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A person's role in a team; access to every team-owned object is checked against this row."""

    __tablename__ = "membership"

    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by an admin's revoke-all: the member's tokens issued until then no longer open this team (their
    # other teams are not that admin's to close); a fresh login does.
    tokens_revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class Invite(Base):
    """A single-use invite; only the SHA-256 of its code is stored."""

    __tablename__ = "invite"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    used_by: Mapped[str | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
