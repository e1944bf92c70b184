"""codemark revision, kept by triggers

Every row a codemark's answer is built from bumps its `revision` when it is inserted, changed or deleted,
whichever code path (or a future one) writes it: a server process may then keep a codemark's answer in
memory and trust it exactly while the revision it read with the page is the one it was built at.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables of a codemark's parts that carry its id in `codemark_id`.
CHILD_TABLES = (
    "marker",
    "codemark_tag",
    "codemark_assignee",
    "reply",
    "codemark_edit",
    "reaction",
    "mention",
    "follower",
)
# How each other part names the codemarks it belongs to, from its row (NEW or OLD).
OTHER_TABLES = {
    "codemark_relation": "id IN ({row}.first_id, {row}.second_id)",
    "marker_reference": "id = (SELECT codemark_id FROM marker WHERE marker.id = {row}.marker_id)",
}
OPERATIONS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def _targets() -> dict[str, str]:
    """Return, per table, the condition naming the codemarks a row belongs to ({row} is NEW or OLD)."""
    return {**{table: "id = {row}.codemark_id" for table in CHILD_TABLES}, **OTHER_TABLES}


def _bump(condition: str) -> str:
    """Return the statement that bumps the revision of the codemarks a condition names."""
    return "UPDATE codemark SET revision = revision + 1 WHERE " + condition  # noqa: S608 (our constants)


def _sqlite_upgrade() -> None:
    for table, target in _targets().items():
        for operation, row in OPERATIONS.items():
            name = f"{table}_{operation}_bumps_codemark"
            when = f"AFTER {operation.upper()} ON {table}"
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {_bump(target.format(row=row))}; END")
    # A codemark's own row: any change but the revision's own bumps it once.
    op.execute(
        "CREATE TRIGGER codemark_update_bumps_revision AFTER UPDATE ON codemark "
        "WHEN NEW.revision = OLD.revision "
        "BEGIN UPDATE codemark SET revision = OLD.revision + 1 WHERE id = NEW.id; END"
    )


def _postgresql_upgrade() -> None:
    for table, target in _targets().items():
        function = f"{table}_bumps_codemark"
        on_delete, otherwise = _bump(target.format(row="OLD")), _bump(target.format(row="NEW"))
        body = f"IF TG_OP = 'DELETE' THEN {on_delete}; ELSE {otherwise}; END IF; RETURN NULL;"
        op.execute(f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$")
        op.execute(
            f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    op.execute(
        "CREATE FUNCTION codemark_bumps_revision() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "NEW.revision := OLD.revision + 1; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER codemark_bumps_revision BEFORE UPDATE ON codemark FOR EACH ROW "
        "WHEN (NEW.revision = OLD.revision) EXECUTE FUNCTION codemark_bumps_revision()"
    )


def upgrade() -> None:
    with op.batch_alter_table("codemark", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in _targets():
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bumps_codemark ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_bumps_codemark()")
        else:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{operation}_bumps_codemark")
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS codemark_bumps_revision ON codemark")
        op.execute("DROP FUNCTION IF EXISTS codemark_bumps_revision()")
    else:
        op.execute("DROP TRIGGER IF EXISTS codemark_update_bumps_revision")
    with op.batch_alter_table("codemark", schema=None) as batch_op:
        batch_op.drop_column("revision")
