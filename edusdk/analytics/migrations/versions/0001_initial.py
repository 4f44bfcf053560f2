"""Create the analytics schema: lessons, shot segments, events, session summaries, rejected events, deletions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "analytics_deletions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("student", sa.String(length=64), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("lesson_id", sa.String(length=128), nullable=False),
        sa.Column("student", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("verb", sa.String(length=16), nullable=False),
        sa.Column("video_time", sa.Double(), nullable=True),
        sa.Column("time_from", sa.Double(), nullable=True),
        sa.Column("time_to", sa.Double(), nullable=True),
        sa.Column("progress", sa.Double(), nullable=True),
        sa.Column("length_s", sa.Double(), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("question", sa.String(length=128), nullable=True),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("statement_id"),
    )
    op.create_index("ix_analytics_events_lesson", "analytics_events", ["lesson_id"], unique=False)
    op.create_index(op.f("ix_analytics_events_student"), "analytics_events", ["student"], unique=False)
    op.create_table(
        "analytics_rejected",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("statement_id", sa.String(length=64), nullable=True),
        sa.Column("student", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_analytics_rejected_student"), "analytics_rejected", ["student"], unique=False)
    op.create_table(
        "analytics_sessions",
        sa.Column("lesson_id", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("student", sa.String(length=64), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("reach", sa.Double(), nullable=True),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("watch", sa.Double(), nullable=False),
        sa.Column("first_ts", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("lesson_id", "session_id"),
    )
    op.create_index(op.f("ix_analytics_sessions_student"), "analytics_sessions", ["student"], unique=False)
    op.create_table(
        "lessons",
        sa.Column("lesson_id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("audience", sa.String(), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("outline_hash", sa.String(length=128), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("shots", sa.Integer(), nullable=False),
        sa.Column("video_path", sa.String(), nullable=False),
        sa.Column("manifest_path", sa.String(), nullable=False),
        sa.Column("moderation", sa.String(length=16), nullable=False),
        sa.Column("engine", sa.String(length=64), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lesson_id"),
    )
    op.create_index(op.f("ix_lessons_created_at"), "lessons", ["created_at"], unique=False)
    op.create_index(op.f("ix_lessons_outline_hash"), "lessons", ["outline_hash"], unique=False)
    op.create_index(op.f("ix_lessons_template"), "lessons", ["template"], unique=False)
    op.create_table(
        "shot_segments",
        sa.Column("lesson_id", sa.String(length=128), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("shot_id", sa.String(length=128), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["lesson_id"], ["lessons.lesson_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("lesson_id", "index"),
    )


def downgrade() -> None:
    op.drop_table("shot_segments")
    op.drop_index(op.f("ix_lessons_template"), table_name="lessons")
    op.drop_index(op.f("ix_lessons_outline_hash"), table_name="lessons")
    op.drop_index(op.f("ix_lessons_created_at"), table_name="lessons")
    op.drop_table("lessons")
    op.drop_index(op.f("ix_analytics_sessions_student"), table_name="analytics_sessions")
    op.drop_table("analytics_sessions")
    op.drop_index(op.f("ix_analytics_rejected_student"), table_name="analytics_rejected")
    op.drop_table("analytics_rejected")
    op.drop_index(op.f("ix_analytics_events_student"), table_name="analytics_events")
    op.drop_index("ix_analytics_events_lesson", table_name="analytics_events")
    op.drop_table("analytics_events")
    op.drop_table("analytics_deletions")
