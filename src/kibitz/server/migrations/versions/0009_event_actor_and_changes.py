"""event actor and changes: who made each change and what it was, for `kibitz watch`

Events written before have neither (null): clients word them as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_id", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("changes", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_event_actor_id"), ["actor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_actor_id"))
        batch_op.drop_column("changes")
        batch_op.drop_column("actor_id")
