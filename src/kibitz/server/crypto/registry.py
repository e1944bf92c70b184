"""Every sealed column, and the cell each value is bound to: one list for services, restore and tests.

A value's associated data names (table, column, row). `row` is the primary key; for tables whose key is a
database-made integer (unknown before the insert) it is the parent's id instead, and for the event log it
is `"<team_id>/<seq>"`. Empty strings are stored as "" (nothing to hide); everything else is an envelope.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SealedTable:
    """A table with sealed columns: which columns, and which columns make up each value's `row`."""

    table: str
    row_columns: tuple[str, ...]
    columns: tuple[str, ...]
    # Whose key: "user", "membership" (the author's, in the row's team), "team", or "event" (author_id's
    # membership key, else the team's).
    owner: str

    def row_of(self, values: dict[str, object]) -> str:
        """Return the `row` part of the associated data from a row's values."""
        return "/".join(str(values[c]) for c in self.row_columns)


SEALED_TABLES: tuple[SealedTable, ...] = (
    SealedTable("user_account", ("id",), ("email", "name", "handle"), "user"),
    SealedTable("codemark", ("id",), ("title", "text"), "membership"),
    SealedTable("codemark_edit", ("codemark_id",), ("title", "text"), "membership"),
    SealedTable("marker", ("id",), ("path", "code", "context_before", "context_after"), "membership"),
    SealedTable("marker_reference", ("marker_id",), ("path",), "team"),
    SealedTable("marker_location", ("marker_id",), ("path",), "team"),
    SealedTable("reply", ("id",), ("text",), "membership"),
    SealedTable("reply_edit", ("reply_id",), ("text",), "membership"),
    SealedTable("repo", ("id",), ("name",), "team"),
    SealedTable("repo_remote", ("repo_id",), ("url",), "team"),
    SealedTable("event", ("team_id", "seq"), ("payload",), "event"),
)


def sealed_table(table: str) -> SealedTable:
    """Return the entry of a table (KeyError for a table with nothing sealed)."""
    for entry in SEALED_TABLES:
        if entry.table == table:
            return entry
    raise KeyError(table)
