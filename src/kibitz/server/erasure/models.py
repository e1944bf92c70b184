"""The erasure ledger: one row per deletion request, naming only opaque ids."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow


class ErasureRequest(Base):
    """A request to erase a user or a team: due by `due_at` (policy maximum 7 days), done when `completed_at`.

    Not a foreign key: the subject's rows are gone once the request is done, and the ledger must outlive
    them (it is how a restore of an older backup knows what to erase again).
    """

    __tablename__ = "erasure_request"
    __table_args__ = (Index("ix_erasure_request_status", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(8))
    subject_id: Mapped[str] = mapped_column(String(16), index=True)
    # Space-separated ids of the teams the subject belonged to (for a user) or the team itself: whose admins
    # may see the request.
    team_ids: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
