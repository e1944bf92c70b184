"""The main database's half of its binding to one keystore (crypto/binding.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow


class KeystoreBinding(Base):
    """The database's id and the id of the keystore whose keys seal its values: one row, written once."""

    __tablename__ = "keystore_binding"
    __table_args__ = (CheckConstraint("slot = 1", name="one_row"),)

    # Always 1: the primary key makes a second binding, written by a process racing this one, a conflict.
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    database_id: Mapped[str] = mapped_column(String(40))
    keystore_id: Mapped[str] = mapped_column(String(40))
    bound_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
