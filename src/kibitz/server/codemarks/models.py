"""Tables of codemarks, their markers (code blocks), tags, assignees and replies.

Content columns (`title`, `text`, `path`, `code`, `context_before`, `context_after`, edits' texts, reply
texts) are sealed with the author's membership key and read and written only by the services of this
folder; reference paths are sealed with the team's key. `path_index` is the path's blind index (team scope)
for listings by file.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ColumnElement, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow

CODEMARK_TYPES = ("comment", "question", "issue", "bookmark", "link")
CODEMARK_STATUSES = ("open", "resolved", "archived")


class Codemark(Base):
    """A discussion pinned to one or more blocks of code."""

    __tablename__ = "codemark"
    __table_args__ = (Index("ix_codemark_team_created", "team_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by database triggers whenever this row or a row of its parts (markers, references, tags,
    # assignees, replies, edits, reactions, mentions, followers, relations) is written: the answer built at
    # one revision is the answer at that revision (codemarks/page.py keeps them in memory). Never set it.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # The bookmark rule, written once: each definition below is both the Python test on a loaded codemark
    # (`codemark.visible_to(user_id)`) and the SQL condition (`Codemark.visible_to(user_id)`), since `!=`,
    # `==` and `|` mean the same on values and on columns.
    @hybrid_property
    def shared(self) -> bool:
        """Tell whether the whole team sees the codemark (a bookmark is its author's alone)."""
        return self.type != "bookmark"

    @hybrid_method
    def visible_to(self, user_id: str | ColumnElement[str]) -> bool:
        """Tell whether a member of the team may see the codemark."""
        return self.shared | (self.author_id == user_id)

    @property
    def private_to(self) -> str | None:
        """Return the only member who may see the codemark, or None when the whole team may."""
        return None if self.shared else self.author_id


class Marker(Base):
    """One code block of a codemark: its canonical reference `(commit, path, lines)` and the code itself."""

    __tablename__ = "marker"
    __table_args__ = (
        Index("ix_marker_team_path_index", "team_id", "path_index"),
        Index("ix_marker_repo", "repo_id"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    repo_id: Mapped[str] = mapped_column(ForeignKey("repo.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    path_index: Mapped[str] = mapped_column(String(64), default="", server_default="")
    commit: Mapped[str] = mapped_column(String(64))
    start_line: Mapped[int] = mapped_column(Integer)
    end_line: Mapped[int] = mapped_column(Integer)
    # Empty in a code-free team, which keeps only `code_fingerprint` (keyed, team scope) of the code.
    code: Mapped[str] = mapped_column(Text)
    code_fingerprint: Mapped[str] = mapped_column(String(64), default="", server_default="")
    context_before: Mapped[str] = mapped_column(Text, default="")
    context_after: Mapped[str] = mapped_column(Text, default="")
    # True while the code exists only in someone's working tree: `commit` is their HEAD and the lines are the
    # best mapping onto it. A client that sees a commit containing the code promotes the marker.
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)


class MarkerReference(Base):
    """The same block at another commit (e.g. the default branch head), for clones that lack the original."""

    __tablename__ = "marker_reference"
    __table_args__ = (UniqueConstraint("marker_id", "commit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    marker_id: Mapped[str] = mapped_column(ForeignKey("marker.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    commit: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    start_line: Mapped[int] = mapped_column(Integer)
    end_line: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodemarkTag(Base):
    """A tag on a codemark."""

    __tablename__ = "codemark_tag"
    __table_args__ = (Index("ix_codemark_tag_team_tag_index", "team_id", "tag_index"),)

    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"), primary_key=True)
    # The tag's blind index (team scope, purpose `codemark.tag`): what lookups and uniqueness use.
    tag_index: Mapped[str] = mapped_column(String(80), primary_key=True)
    # Sealed with the team's key, bound to `codemark_id/tag_index`.
    tag: Mapped[str] = mapped_column(Text)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))


class CodemarkAssignee(Base):
    """A member assigned to a codemark."""

    __tablename__ = "codemark_assignee"

    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Reply(Base):
    """A message in a codemark's thread."""

    __tablename__ = "reply"
    __table_args__ = (Index("ix_reply_codemark_created", "codemark_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A deleted reply stays in the thread as a tombstone: its text, history and reactions are gone.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class CodemarkEdit(Base):
    """A previous version of a codemark's title and text, kept when it is edited."""

    __tablename__ = "codemark_edit"
    __table_args__ = (Index("ix_codemark_edit_codemark", "codemark_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    editor_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    # When this version was replaced.
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReplyEdit(Base):
    """A previous version of a reply's text, kept when it is edited."""

    __tablename__ = "reply_edit"
    __table_args__ = (Index("ix_reply_edit_reply", "reply_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reply_id: Mapped[str] = mapped_column(ForeignKey("reply.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reaction(Base):
    """An emoji a member put on a codemark (reply_id null) or on one of its replies."""

    __tablename__ = "reaction"
    __table_args__ = (
        UniqueConstraint("codemark_id", "reply_id", "user_id", "emoji"),
        Index("ix_reaction_reply", "reply_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"))
    # Empty string, not NULL, for the codemark itself: NULLs would defeat the unique constraint.
    reply_id: Mapped[str] = mapped_column(String(16), default="")
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    emoji: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(Base):
    """A member mentioned in a codemark's text (reply_id empty) or in a reply."""

    __tablename__ = "mention"
    __table_args__ = (UniqueConstraint("codemark_id", "reply_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"))
    reply_id: Mapped[str] = mapped_column(String(16), default="")
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)


class Follower(Base):
    """A member who follows a codemark's thread (and so gets its replies in their inbox)."""

    __tablename__ = "follower"

    codemark_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Relation(Base):
    """Two related codemarks of one team, stored once with the smaller id first."""

    __tablename__ = "codemark_relation"

    first_id: Mapped[str] = mapped_column(ForeignKey("codemark.id", ondelete="CASCADE"), primary_key=True)
    second_id: Mapped[str] = mapped_column(
        ForeignKey("codemark.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
