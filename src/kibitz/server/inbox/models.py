"""Per-person inbox items: mentions, assignments, and replies on followed codemarks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow


class InboxItem(Base):
    """Something a person should look at; unread until they mark it read."""

    __tablename__ = "inbox_item"
    __table_args__ = (Index("ix_inbox_item_user_team_created", "user_id", "team_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"), index=True)
    reply_id: Mapped[str] = mapped_column(String(16), default="")
    actor_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
