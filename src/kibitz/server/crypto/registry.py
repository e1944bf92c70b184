"""Every sealed column, and the cell each value is bound to: one list for services, restore and tests.

A value's associated data names (table, column, row), the names taken from the mapped column
(`crypto.sealer.cell_names`). `row` is the primary key; for tables whose key is a database-made integer
(unknown before the insert) it is the parent's id instead, and for the event log it is `"<team_id>/<seq>"`.
Empty strings are stored as "" (nothing to hide); everything else is an envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Table
from sqlalchemy.orm import InstrumentedAttribute

from kibitz.server.auth.models import ApiToken, User
from kibitz.server.codemarks.models import (
    Codemark,
    CodemarkEdit,
    CodemarkTag,
    Marker,
    MarkerReference,
    Reply,
    ReplyEdit,
)
from kibitz.server.crypto.sealer import SealedColumn
from kibitz.server.db import Base
from kibitz.server.events.models import Event
from kibitz.server.locations.models import MarkerLocation
from kibitz.server.repos.models import Repo, RepoRemote
from kibitz.server.teams.models import Team


@dataclass(frozen=True)
class SealedTable:
    """A table with sealed columns: which columns, which columns make up each value's `row`, and whose key."""

    model: type[Base]
    row: tuple[InstrumentedAttribute[Any], ...]
    columns: tuple[SealedColumn, ...]
    # "user", "membership" (the author's, in the row's team), "team", or "event" (author_id's membership
    # key, else the team's).
    owner: Literal["user", "membership", "team", "event"]

    @property
    def table(self) -> Table:
        """Return the table."""
        table = self.model.__table__
        assert isinstance(table, Table)
        return table

    def row_of(self, values: Mapping[str, object]) -> str:
        """Return the `row` part of the associated data from a row's values (keyed by column name)."""
        return "/".join(str(values[column.key]) for column in self.row)


SEALED_TABLES: tuple[SealedTable, ...] = (
    SealedTable(User, (User.id,), (User.email, User.name, User.handle), "user"),
    SealedTable(ApiToken, (ApiToken.id,), (ApiToken.name,), "user"),
    SealedTable(Team, (Team.id,), (Team.name,), "team"),
    SealedTable(Codemark, (Codemark.id,), (Codemark.title, Codemark.text), "membership"),
    SealedTable(CodemarkTag, (CodemarkTag.codemark_id, CodemarkTag.tag_index), (CodemarkTag.tag,), "team"),
    SealedTable(
        CodemarkEdit, (CodemarkEdit.codemark_id,), (CodemarkEdit.title, CodemarkEdit.text), "membership"
    ),
    SealedTable(
        Marker,
        (Marker.id,),
        (Marker.path, Marker.code, Marker.context_before, Marker.context_after),
        "membership",
    ),
    SealedTable(MarkerReference, (MarkerReference.marker_id,), (MarkerReference.path,), "team"),
    SealedTable(MarkerLocation, (MarkerLocation.marker_id,), (MarkerLocation.path,), "team"),
    SealedTable(Reply, (Reply.id,), (Reply.text,), "membership"),
    SealedTable(ReplyEdit, (ReplyEdit.reply_id,), (ReplyEdit.text,), "membership"),
    SealedTable(Repo, (Repo.id,), (Repo.name,), "team"),
    SealedTable(RepoRemote, (RepoRemote.repo_id,), (RepoRemote.url,), "team"),
    SealedTable(Event, (Event.team_id, Event.seq), (Event.payload,), "event"),
)
