"""the commit that made a shared location what it is

A client that names the commit that moved, changed or deleted a marker's block at a commit shares it with
that location, so that the team searches the history once per marker and commit.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("marker_location", schema=None) as batch_op:
        batch_op.add_column(sa.Column("why_commit", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("marker_location", schema=None) as batch_op:
        batch_op.drop_column("why_commit")
