"""sealed team names, tags and token names: tags get a blind index column as their key

Migrations cannot seal (only the running server holds the keys): each existing tag gets a placeholder index
('legacy:' + the tag, unique as the tags were), and the server's next start seals every plaintext team name,
tag and token name and computes the real indexes (crypto/legacy.py, `seal_plaintext_names`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 19:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("codemark_tag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tag_index", sa.String(length=80), nullable=True))
    op.execute("UPDATE codemark_tag SET tag_index = 'legacy:' || tag")
    with op.batch_alter_table("codemark_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_codemark_tag_team_tag")
        batch_op.drop_constraint("pk_codemark_tag", type_="primary")
        batch_op.alter_column("tag_index", existing_type=sa.String(length=80), nullable=False)
        batch_op.alter_column("tag", existing_type=sa.String(length=64), type_=sa.Text(), nullable=False)
        batch_op.create_primary_key("pk_codemark_tag", ["codemark_id", "tag_index"])
        batch_op.create_index("ix_codemark_tag_team_tag_index", ["team_id", "tag_index"], unique=False)


def downgrade() -> None:
    # Sealed tags cannot be opened here: the downgrade keeps the rows' values as they are.
    with op.batch_alter_table("codemark_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_codemark_tag_team_tag_index")
        batch_op.drop_constraint("pk_codemark_tag", type_="primary")
        batch_op.alter_column("tag", existing_type=sa.Text(), type_=sa.String(length=64), nullable=False)
        batch_op.create_primary_key("pk_codemark_tag", ["codemark_id", "tag"])
        batch_op.create_index("ix_codemark_tag_team_tag", ["team_id", "tag"], unique=False)
    with op.batch_alter_table("codemark_tag", schema=None) as batch_op:
        batch_op.drop_column("tag_index")
