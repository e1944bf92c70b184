"""Tables of repositories and the identities (root commits, remotes) that find them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kibitz.server.db import Base, UTCDateTime, utcnow


class Repo(Base):
    """A repository of a team, known by any of its root commits or normalised remotes."""

    __tablename__ = "repo"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RepoRootCommit(Base):
    """One root commit id of a repo; unique per team so a root commit names one repo."""

    __tablename__ = "repo_root_commit"
    __table_args__ = (UniqueConstraint("team_id", "commit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    repo_id: Mapped[str] = mapped_column(ForeignKey("repo.id", ondelete="CASCADE"), index=True)
    commit: Mapped[str] = mapped_column(String(64))


class RepoRemote(Base):
    """One normalised remote URL of a repo (personal data of a kind: reached only through services)."""

    __tablename__ = "repo_remote"
    __table_args__ = (UniqueConstraint("team_id", "url_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    repo_id: Mapped[str] = mapped_column(ForeignKey("repo.id", ondelete="CASCADE"), index=True)
    # Sealed with the team's key; `url_index`, its blind index (team scope), serves lookups and uniqueness.
    url: Mapped[str] = mapped_column(Text)
    url_index: Mapped[str] = mapped_column(String(64))
