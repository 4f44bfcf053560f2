"""An LRU cache of embedding rows, shared by the two sentence encoders (`semantic.MiniLM`, `multilingual.Encoder`):
a lesson is checked at outline and again at render, so its sentences are embedded once."""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

K = TypeVar("K", bound=Hashable)
Matrix = NDArray[np.float32]


class VectorCache(Generic[K]):
    """The last `size` rows (of `dim` floats) by key, least recently used dropped first. Not locked: the encoders
    hold their own lock around `rows` (it also serialises their forward passes)."""

    def __init__(self, size: int, dim: int) -> None:
        self.size, self.dim = size, dim
        self._rows: collections.OrderedDict[K, Matrix] = collections.OrderedDict()

    def rows(self, keys: list[K], compute: Callable[[list[K]], Matrix]) -> Matrix:
        """One row per key (len(keys) × dim): cached ones as they are, the others from one `compute(missing)` call
        (each missing key once, in first-seen order)."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        missing = [k for k in dict.fromkeys(keys) if k not in self._rows]
        fresh = dict(zip(missing, compute(missing), strict=True)) if missing else {}
        for i, key in enumerate(keys):
            out[i] = fresh[key] if key in fresh else self._rows[key]
        self._rows.update(fresh)
        for key in keys:
            self._rows.move_to_end(key)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)
        return out

    def clear(self) -> None:
        self._rows.clear()

    def __iter__(self) -> Iterator[K]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)
