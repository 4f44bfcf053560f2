"""Marks for the moderation tests' known misses, each with where it is documented."""

from __future__ import annotations

import pytest

# Lessons the round-11/12 learned classifier flags (written for earlier rounds' mechanisms; the classifier reads their
# wording as the harm they teach about). Listed in moderation/README.md, "Learned classifier".
CLASSIFIER_FALSE_POSITIVE = pytest.mark.xfail(
    reason="round 11: the learned classifier flags this lesson (a known false positive, moderation/README.md)",
    strict=False,
)

# Harmful requests the round-14 classifier reads as benign (P(harmful) under `classifier.BACKING`, so the exemplar
# layer's finding is not backed either). Listed in moderation/README.md, "Learned classifier".
CLASSIFIER_MISS = pytest.mark.xfail(
    reason="round 14: the learned classifier misses this request (a known miss, moderation/README.md)", strict=False
)
