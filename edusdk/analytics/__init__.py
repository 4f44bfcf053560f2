"""Analytics: the store of rendered lessons and their shot timelines (SQLite by default, PostgreSQL at scale).

Example:
    >>> from edusdk.analytics import AnalyticsStore
    >>> with AnalyticsStore() as store:          # $EDUSDK_DB, else ./edusdk.db
    ...     lessons = store.list_lessons()
"""

from edusdk.analytics.config import AnalyticsConfig
from edusdk.analytics.connect import create_store_engine, database_url
from edusdk.analytics.events import Event, EventError, from_xapi, to_xapi
from edusdk.analytics.ingest import IngestResult
from edusdk.analytics.service import Analytics
from edusdk.analytics.store import AnalyticsStore
from edusdk.analytics.tables import LessonBase, LessonPublic, LessonRecord, ShotSegment, ShotSegmentPublic

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
