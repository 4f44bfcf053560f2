"""Analytics settings (pseudonymisation key, xAPI identifiers, retention) and the keyed student pseudonym.

Every setting has an environment variable so operators configure it without code:

| setting | env | default |
|---|---|---|
| `key` | `EDUSDK_ANALYTICS_KEY` | a fixed development key (a warning says so) |
| `activity_base` | `EDUSDK_XAPI_ACTIVITY_BASE` | none → activity ids are `urn:edusdk:lesson:<lesson_id>` |
| `home_page` | `EDUSDK_XAPI_HOMEPAGE` | `https://edusdk.invalid` (the xAPI account's `homePage`) |
| `retention_days` | `EDUSDK_ANALYTICS_RETENTION_DAYS` | none (keep events forever) |
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import warnings
from dataclasses import dataclass

from edusdk._errors import BadInputError

DEV_KEY = "edusdk-development-key-do-not-use-in-production"
DEFAULT_HOME_PAGE = "https://edusdk.invalid"
LESSON_URN = "urn:edusdk:lesson:"


@functools.lru_cache(maxsize=200_000)
def _pseudonym(key: str, student_id: str) -> str:
    return hmac.new(key.encode("utf-8"), student_id.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AnalyticsConfig:
    """How analytics identifies lessons and students, and how long it keeps events.

    Example:
        >>> config = AnalyticsConfig(key="s3cret", home_page="https://school.example")
        >>> config.activity_id("fractions-1")
        'urn:edusdk:lesson:fractions-1'
        >>> len(config.pseudonym("student-42"))
        64
    """

    key: str = DEV_KEY
    activity_base: str | None = None
    home_page: str = DEFAULT_HOME_PAGE
    retention_days: int | None = None

    @classmethod
    def from_env(cls) -> AnalyticsConfig:
        """The settings from the environment (see the module docstring); warns when the key is the dev default."""
        key = os.environ.get("EDUSDK_ANALYTICS_KEY") or ""
        if not key:
            warnings.warn(
                "EDUSDK_ANALYTICS_KEY is not set: student ids are pseudonymised with the public development key; "
                "set a secret key in production",
                UserWarning,
                stacklevel=2,
            )
            key = DEV_KEY
        days = os.environ.get("EDUSDK_ANALYTICS_RETENTION_DAYS") or None
        try:
            retention = int(days) if days is not None else None
        except ValueError:
            raise BadInputError(
                f"EDUSDK_ANALYTICS_RETENTION_DAYS must be a whole number of days, got {days!r}"
            ) from None
        return cls(
            key=key,
            activity_base=os.environ.get("EDUSDK_XAPI_ACTIVITY_BASE") or None,
            home_page=os.environ.get("EDUSDK_XAPI_HOMEPAGE") or DEFAULT_HOME_PAGE,
            retention_days=retention,
        )

    def pseudonym(self, student_id: str) -> str:
        """The keyed HMAC-SHA256 (hex) stored instead of `student_id`; the raw id is never stored."""
        return _pseudonym(self.key, student_id)

    def activity_id(self, lesson_id: str) -> str:
        """The xAPI activity IRI of a lesson: `<activity_base>/<lesson_id>` or `urn:edusdk:lesson:<lesson_id>`."""
        if self.activity_base:
            return f"{self.activity_base.rstrip('/')}/{lesson_id}"
        return f"{LESSON_URN}{lesson_id}"

    def lesson_id(self, activity_id: str) -> str | None:
        """The lesson id inside an activity IRI made by `activity_id`, else None."""
        for prefix in (LESSON_URN, f"{(self.activity_base or '').rstrip('/')}/" if self.activity_base else None):
            if prefix and activity_id.startswith(prefix) and len(activity_id) > len(prefix):
                return activity_id[len(prefix) :]
        return None
