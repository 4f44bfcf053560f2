"""Analytics: the store of rendered lessons and their shot timelines (SQLite by default, PostgreSQL at scale).

Example:
    >>> from edusdk.analytics import AnalyticsStore
    >>> with AnalyticsStore() as store:          # $EDUSDK_DB, else ./edusdk.db
    ...     lessons = store.list_lessons()
"""

from typing import TYPE_CHECKING, Any

from edusdk.analytics.config import AnalyticsConfig
from edusdk.analytics.connect import create_store_engine, database_url
from edusdk.analytics.events import Event, EventError, from_xapi, to_xapi
from edusdk.analytics.ingest import IngestResult
from edusdk.analytics.tables import LessonBase, LessonPublic, LessonRecord, ShotSegment, ShotSegmentPublic

if TYPE_CHECKING:
    from edusdk.analytics.service import Analytics
    from edusdk.analytics.store import AnalyticsStore

# The service and the store (metrics, A/B tests, recommendations: numpy and the lesson models) are imported on first
# use, so that an ingest worker process (`python -m edusdk.analytics.ingest_worker`) starts in half the time.
_LAZY = {"Analytics": "edusdk.analytics.service", "AnalyticsStore": "edusdk.analytics.store"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'edusdk.analytics' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Analytics",
    "AnalyticsConfig",
    "AnalyticsStore",
    "Event",
    "EventError",
    "IngestResult",
    "LessonBase",
    "LessonPublic",
    "LessonRecord",
    "ShotSegment",
    "ShotSegmentPublic",
    "create_store_engine",
    "database_url",
    "from_xapi",
    "to_xapi",
]
