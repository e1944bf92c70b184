"""keystore binding: the database records its id and its keystore's id

The row is written on the first start after this migration (crypto/binding.py), not here: only the server
opens the keystore.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kibitz.server.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "keystore_binding",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("database_id", sa.String(length=40), nullable=False),
        sa.Column("keystore_id", sa.String(length=40), nullable=False),
        sa.Column("bound_at", kibitz.server.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("slot = 1", name=op.f("ck_keystore_binding_one_row")),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_keystore_binding")),
    )


def downgrade() -> None:
    op.drop_table("keystore_binding")
