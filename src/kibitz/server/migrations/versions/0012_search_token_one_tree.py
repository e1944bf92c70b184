"""search words keyed for lookup: one B-tree per word's postings

The primary key becomes (team, word, codemark's creation time, codemark, source), which serves a word's
postings newest first by itself, so the separate lookup index goes; on SQLite the table becomes WITHOUT
ROWID, the key's B-tree holding the rows. Writing a text's words then touches one tree at random places
instead of two (the unique index and the lookup index; the rowid table's end was cheap).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kibitz.server.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "team_id, token, codemark_created_at, codemark_id, source"
NEW_KEY = ["team_id", "token", "codemark_created_at", "codemark_id", "source"]
OLD_KEY = ["team_id", "token", "codemark_id", "source"]
LOOKUP = ["team_id", "token", "codemark_created_at", "codemark_id"]


def _sqlite_table(name: str, key: list[str], with_rowid: bool) -> None:
    """Create the search_token table as `name` with this key (its foreign keys named as the real one's)."""
    op.create_table(
        name,
        sa.Column("team_id", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("codemark_created_at", kibitz.server.db.UTCDateTime(), nullable=False),
        sa.Column("codemark_id", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["codemark_id"],
            ["codemark.id"],
            name="fk_search_token_codemark_id_codemark",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name="fk_search_token_team_id_team", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(*key, name="pk_search_token"),
        sqlite_with_rowid=with_rowid,
    )


def _sqlite_rebuild(key: list[str], with_rowid: bool) -> None:
    """Copy search_token into a table of the given shape (SQLite cannot change a key in place)."""
    op.drop_index("ix_search_token_codemark", table_name="search_token")
    op.rename_table("search_token", "search_token_old")
    _sqlite_table("search_token", key, with_rowid)
    op.execute(f"INSERT INTO search_token ({COLUMNS}) SELECT {COLUMNS} FROM search_token_old")  # noqa: S608
    op.drop_table("search_token_old")
    op.create_index("ix_search_token_codemark", "search_token", ["codemark_id", "source"], unique=False)


def upgrade() -> None:
    op.drop_index("ix_search_token_lookup", table_name="search_token")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(NEW_KEY, with_rowid=False)
        return
    op.drop_constraint("pk_search_token", "search_token", type_="primary")
    op.create_primary_key("pk_search_token", "search_token", NEW_KEY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(OLD_KEY, with_rowid=True)
    else:
        op.drop_constraint("pk_search_token", "search_token", type_="primary")
        op.create_primary_key("pk_search_token", "search_token", OLD_KEY)
    op.create_index("ix_search_token_lookup", "search_token", LOOKUP, unique=False)
