"""Where operator-editable data (templates/, moderation/) lives: beside the package in a checkout,
inside it (edusdk/_data) in a wheel. An operator can point elsewhere with EDUSDK_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(kind: str) -> Path:
    """The directory holding `kind` ('templates' or 'moderation').

    Looks in $EDUSDK_DATA_DIR/<kind>, then edusdk/_data/<kind> (installed wheel), then the
    checkout's top-level <kind>/ (editable install).
    """
    candidates = []
    if env := os.environ.get("EDUSDK_DATA_DIR"):
        candidates.append(Path(env) / kind)
    candidates += [_PACKAGE / "_data" / kind, _PACKAGE.parent / kind]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"edusdk data directory {kind!r} not found (looked in {', '.join(map(str, candidates))})")
