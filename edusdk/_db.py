"""Database helpers shared by every layer that keeps tables (analytics, moderation audit, batch)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, Table
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlmodel import SQLModel


def create_tables(engine: Engine, tables: Sequence[Table]) -> None:
    """Create `tables` if missing, safe when several processes start on a fresh database at once."""
    try:
        SQLModel.metadata.create_all(engine, tables=list(tables))
    except (OperationalError, ProgrammingError, IntegrityError):
        # Another process created them between create_all's check and its CREATE; check again.
        SQLModel.metadata.create_all(engine, tables=list(tables))
