"""The search index: one row per (word, codemark, source) so that text search needs no plaintext column.

`token` is not the word but its keyed blind index (HMAC-SHA256 under the team's index key, purpose
"search.word", 64 hex digits): a dump shows which rows share a word, never the word. Queries hash their
words the same way and match by equality, which is why search does not use the databases' own full-text
engines, and why there is no prefix search (words and identifier parts are indexed whole instead).

The primary key leads with (team, word, codemark's creation time), so that one B-tree both keeps the rows
unique and serves a word's postings newest first; on SQLite the table is that B-tree (WITHOUT ROWID). A
reply's words land at random places in it: one tree, instead of a unique index and a lookup index beside
a rowid table, writes about half the pages per word.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime


class SearchToken(Base):
    """A keyed word of a codemark's title/text (source '') or of one of its replies (source = reply id)."""

    __tablename__ = "search_token"
    __table_args__ = (
        PrimaryKeyConstraint("team_id", "token", "codemark_created_at", "codemark_id", "source"),
        Index("ix_search_token_codemark", "codemark_id", "source"),
        {"sqlite_with_rowid": False},
    )

    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    # Copied from the codemark so that newest-first results come straight off the key.
    codemark_created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
