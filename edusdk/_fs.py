"""Filesystem helpers: outputs appear whole or not at all."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edusdk._errors import OutputPathError

# mkstemp creates 0600 files; finished outputs get the permissions a plain open() would give them.
_UMASK = os.umask(0)
os.umask(_UMASK)


def check_output_path(path: str | Path) -> Path:
    """Fail early (OutputPathError) if `path` cannot be created: its directory is missing parts we
    cannot create, or is not writable, or `path` is a directory."""
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        raise OutputPathError(f"output path {path} is a directory; give a file name")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"cannot create output directory {parent}: {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"output directory {parent} is not writable")
    return path


def temp_beside(path: Path, suffix: str | None = None) -> Path:
    """A new empty temporary file next to `path`, named `.<stem>.<random><suffix>` (see `remove_temporaries`)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix or path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_UMASK)
    return tmp


def remove_temporaries(path: str | Path) -> int:
    """Delete the temporaries a killed process left beside `path` (`atomic_output` cannot clean up after SIGKILL).

    Only call it when no other process is writing `path`. Returns how many files (or half-built directories,
    e.g. HLS) it removed.
    """
    path = Path(path)
    removed = 0
    if path.parent.is_dir():
        for leftover in path.parent.glob(f".{glob.escape(path.stem)}.*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_output(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    Example:
        >>> with atomic_output("out/lesson.mp4") as tmp:
        ...     run_ffmpeg(..., tmp)        # a failure here leaves no out/lesson.mp4 behind
    """
    path = check_output_path(path)
    tmp = temp_beside(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically and return the final path."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path).absolute()
