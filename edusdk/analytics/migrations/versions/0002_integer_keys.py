"""Integer lookup keys on analytics_events: a unique 64-bit `statement_key` replaces the UNIQUE text
`statement_id`, and an index on the 64-bit `student_key` replaces the index on the 64-character `student` HMAC
(the text index inserts were the main ingest cost). Existing rows are backfilled with their keys.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from edusdk.analytics.events import statement_key, student_key

revision = "0002"
down_revision = "0001"

_TABLE = "analytics_events"
_CHUNK = 10_000
# SQLite's UNIQUE(statement_id) from 0001 has no name: batch mode names reflected constraints with this.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _backfill(bind: sa.Connection) -> None:
    select = sa.text(f"SELECT id, statement_id, student FROM {_TABLE} WHERE id > :last ORDER BY id LIMIT {_CHUNK}")
    update = sa.text(f"UPDATE {_TABLE} SET statement_key = :k, student_key = :s WHERE id = :i")
    last = -1
    while rows := bind.execute(select, {"last": last}).all():
        bind.execute(update, [{"k": statement_key(sid), "s": student_key(student), "i": i} for i, sid, student in rows])
        last = rows[-1][0]


def _statement_id_unique(bind: sa.Connection) -> str:
    for constraint in sa.inspect(bind).get_unique_constraints(_TABLE):
        if constraint["column_names"] == ["statement_id"] and constraint["name"]:
            return constraint["name"]
    return "uq_analytics_events_statement_id"


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(_TABLE, sa.Column("statement_key", sa.BigInteger(), nullable=True))
    op.add_column(_TABLE, sa.Column("student_key", sa.BigInteger(), nullable=True))
    _backfill(bind)
    op.drop_index("ix_analytics_events_student", table_name=_TABLE)
    unique = _statement_id_unique(bind)
    with op.batch_alter_table(_TABLE, naming_convention=_NAMING) as batch:
        batch.drop_constraint(unique, type_="unique")
        batch.alter_column("statement_key", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("student_key", existing_type=sa.BigInteger(), nullable=False)
    op.create_index("ix_analytics_events_statement_key", _TABLE, ["statement_key"], unique=True)
    op.create_index("ix_analytics_events_student_key", _TABLE, ["student_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_analytics_events_student_key", table_name=_TABLE)
    op.drop_index("ix_analytics_events_statement_key", table_name=_TABLE)
    with op.batch_alter_table(_TABLE, naming_convention=_NAMING) as batch:
        batch.create_unique_constraint("uq_analytics_events_statement_id", ["statement_id"])
        batch.drop_column("student_key")
        batch.drop_column("statement_key")
    op.create_index("ix_analytics_events_student", _TABLE, ["student"], unique=False)
