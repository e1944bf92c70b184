"""Shared locations: where a marker's code is at a commit, computed once by some client for the whole team."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow


class MarkerLocation(Base):
    """A marker's location at a commit by one algorithm version; the first write wins."""

    __tablename__ = "marker_location"
    __table_args__ = (
        UniqueConstraint("marker_id", "commit", "algorithm"),
        Index("ix_marker_location_team_commit", "team_id", "commit", "algorithm"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    marker_id: Mapped[str] = mapped_column(ForeignKey("marker.id", ondelete="CASCADE"))
    commit: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(32))
    # Null path and lines mean the code was not found at this commit (status `deleted`).
    path: Mapped[str | None] = mapped_column(Text, default=None)
    start_line: Mapped[int | None] = mapped_column(Integer, default=None)
    end_line: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    # The commit that made the block what it is at this commit (moved, changed, deleted it), once a client
    # found it; added to a known location later, never replaced. A commit id, like `commit`: not sealed.
    why_commit: Mapped[str | None] = mapped_column(String(64), default=None)
    computed_by: Mapped[str | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
