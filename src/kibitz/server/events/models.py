"""The team's ordered event log: one row per change, numbered without gaps in commit order."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow


class Event(Base):
    """A change in a team, numbered by the team's counter in the writing transaction."""

    __tablename__ = "event"

    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(32))
    # The changed object as the API returns it (JSON), sealed with `author_id`'s membership key when it
    # carries what that person wrote, else with the team's key; user references inside keep only ids (names
    # and emails are filled in when read), so an erased person's data is in no other person's event.
    payload: Mapped[str] = mapped_column(Text)
    # Whose membership key sealed the payload (null: the team's key); an erasure redacts these events.
    author_id: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    # The codemark the event is about, and the object itself (the codemark, or a reply): deleting either
    # redacts every event that carried its content, so a deletion reaches the log too.
    codemark_id: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    subject_id: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    # Set for events only one person may see (their bookmarks); null means every member.
    visible_to: Mapped[str | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who made the change (null: nobody in particular, or a person since erased) and what it was, in words a
    # client shows ("resolved,assigned"): `kibitz watch` says who did what. Ids and fixed words, no content.
    actor_id: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    changes: Mapped[str | None] = mapped_column(String(128), default=None)
