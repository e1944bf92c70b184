"""team-scoped token revocation: a membership's cut-off for tokens issued before an admin revoked them

An admin's revoke-all sets `membership.tokens_revoked_at`; the member's tokens issued until then stop working
for that team only (their other teams are not the admin's to close).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kibitz.server.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tokens_revoked_at", kibitz.server.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_column("tokens_revoked_at")
