"""A content-addressed cache of generated clips: a re-render of an unchanged shot costs a file copy.

An entry is `<root>/<key[:2]>/<key>.mp4` plus `<key>.json` (the Clip's description and the mp4's
size and sha256). The key hashes everything that decides the pixels: model identity, mode, prompts,
inputs' hashes, size, frames, fps, steps, guidance, seed, strength… (the caller builds it with
`cache_key`). A hit is verified — the record parses, the mp4 has the recorded size and sha256 — and a
corrupt or half-written entry is dropped and regenerated. Writes are atomic, so concurrent renders
never see a partial entry.

The root is `cache_dir` if given, else `$EDUSDK_CACHE_DIR/clips`, else `~/.cache/edusdk/clips`.

Example:
    >>> cache = ClipCache()
    >>> key = cache_key({"model": "abc", "prompt": "a leaf", "seed": 1})
    >>> cache.get(key) is None
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from edusdk._fs import atomic_output, write_text_atomic


def default_cache_dir() -> Path:
    """`$EDUSDK_CACHE_DIR/clips`, else `~/.cache/edusdk/clips`."""
    env = os.environ.get("EDUSDK_CACHE_DIR")
    return (Path(env) if env else Path.home() / ".cache" / "edusdk") / "clips"


def cache_key(parts: dict[str, Any]) -> str:
    """A stable hex key for `parts` (JSON-serialisable values; key order does not matter)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ClipCache:
    """Clips on disk by content key. `get` returns the verified entry's record, or None (and drops it if corrupt)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.dropped = 0  # corrupt entries found and removed, for tests and logs

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.mp4", folder / f"{key}.json"

    def get(self, key: str) -> tuple[Path, dict[str, Any]] | None:
        """(the cached mp4, its stored record) if a sound entry exists for `key`."""
        video, record_path = self._paths(key)
        if not video.is_file() and not record_path.is_file():
            return None
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            sound = (isinstance(record, dict) and video.stat().st_size == record["bytes"]
                     and file_sha256(video) == record["sha256"])  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            sound = False
        if not sound:
            self.drop(key)
            return None
        return video, record["clip"]

    def put(self, key: str, source: Path, clip: dict[str, Any]) -> Path:
        """Store a copy of `source` with `clip` (a JSON-able description) under `key`; return the cached mp4."""
        video, record_path = self._paths(key)
        with atomic_output(video) as tmp:
            shutil.copyfile(source, tmp)
            record = {"bytes": tmp.stat().st_size, "sha256": file_sha256(tmp), "clip": clip}
        write_text_atomic(record_path, json.dumps(record, indent=1, default=str))
        return video

    def drop(self, key: str) -> None:
        """Remove the entry for `key`, if any."""
        for path in self._paths(key):
            if path.exists():
                path.unlink(missing_ok=True)
                self.dropped += 1 if path.suffix == ".mp4" else 0
