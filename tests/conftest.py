"""Suite-wide settings.

Lessons render silently unless a test asks for narration: the default narrator ("auto") would load the
Piper voice (≈ 1.4 s) and speak every shot in every rendering test. Tests about narration pass a narrator
explicitly (tests/test_narration.py); `make demo` exercises the default.

Caches (generated clips, spoken narration) go to a folder of this test run, never to the user's
~/.cache/edusdk; tests that check caching point EDUSDK_CACHE_DIR or `cache_dir` at their own tmp_path.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from edusdk.moderation.policy import Policy

os.environ.setdefault("EDUSDK_NARRATOR", "none")
os.environ.setdefault("EDUSDK_CACHE_DIR", tempfile.mkdtemp(prefix="edusdk-test-cache-"))


@pytest.fixture(scope="session")
def k12() -> Policy:
    """The K-12 policy, with MiniLM loaded and the exemplars embedded once per test process."""
    from edusdk.moderation import semantic
    from edusdk.moderation.policy import Policy

    semantic.exemplars()
    return Policy.load("k12")
