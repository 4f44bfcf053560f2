"""Analytics: the store of rendered lessons and their shot timelines (SQLite by default, PostgreSQL at scale).

Example:
    >>> from edusdk.analytics import AnalyticsStore
    >>> with AnalyticsStore() as store:          # $EDUSDK_DB, else ./edusdk.db
    ...     lessons = store.list_lessons()
"""

from typing import TYPE_CHECKING

from edusdk._lazy import lazy_attributes
from edusdk.analytics.config import AnalyticsConfig
from edusdk.analytics.connect import create_store_engine, database_url
from edusdk.analytics.events import Event, EventError, from_xapi, to_xapi
from edusdk.analytics.ingest import IngestResult
from edusdk.analytics.tables import LessonBase, LessonPublic, LessonRecord, ShotSegment, ShotSegmentPublic

if TYPE_CHECKING:
    from edusdk.analytics.service import Analytics
    from edusdk.analytics.store import AnalyticsStore

# The service and the store (metrics, A/B tests, recommendations: numpy and the lesson models) are imported on first
# use, so that an ingest worker process (`python -m edusdk.analytics.ingest_worker`) starts sooner (0.73 → 0.60 s).
_LAZY = {"Analytics": "edusdk.analytics.service", "AnalyticsStore": "edusdk.analytics.store"}

__getattr__ = lazy_attributes(__name__, _LAZY)

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
