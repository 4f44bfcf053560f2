"""Module attributes imported on first use (PEP 562), so that a process needing one part of edusdk (an analytics
ingest worker, `edusdk --help`) does not import all of it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_attributes(module: str, sources: dict[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `module` that imports each name in `sources` from the module it maps to.

    Example:
        >>> __getattr__ = lazy_attributes(__name__, {"EduClient": "edusdk._client"})
    """

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        setattr(sys.modules[module], name, value)  # later lookups find it without this function
        return value

    return __getattr__
