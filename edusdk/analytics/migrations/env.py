"""Alembic environment: runs the analytics migrations on the engine `upgrade()` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from edusdk.analytics.tables import ANALYTICS_TABLES

engine: Engine = context.config.attributes["engine"]
target_metadata = ANALYTICS_TABLES[0].metadata

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()
