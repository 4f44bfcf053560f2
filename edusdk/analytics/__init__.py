"""Analytics: the store of rendered lessons and their shot timelines (SQLite by default, PostgreSQL at scale).

Example:
    >>> from edusdk.analytics import AnalyticsStore
    >>> with AnalyticsStore() as store:          # $EDUSDK_DB, else ./edusdk.db
    ...     lessons = store.list_lessons()
"""

from edusdk.analytics.store import AnalyticsStore, create_store_engine, database_url
from edusdk.analytics.tables import LessonBase, LessonPublic, LessonRecord, ShotSegment, ShotSegmentPublic

__all__ = [
    "AnalyticsStore",
    "LessonBase",
    "LessonPublic",
    "LessonRecord",
    "ShotSegment",
    "ShotSegmentPublic",
    "create_store_engine",
    "database_url",
]
