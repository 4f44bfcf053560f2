"""Atomic outputs: whole or nothing, and what a killed writer leaves can be cleaned up."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from edusdk._fs import atomic_output, remove_temporaries, temp_beside


def test_atomic_output_renames_on_success_and_keeps_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "lesson.mp4"
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".lesson.")
        tmp.write_bytes(b"data")
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # readable by others, unlike mkstemp's 0600
    assert sorted(p.name for p in target.parent.iterdir()) == ["lesson.mp4"]


def test_atomic_output_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "lesson.mp4"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder died")
    assert list(tmp_path.iterdir()) == []


def test_remove_temporaries_removes_only_that_outputs_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "lesson.mp4"
    leftovers = [temp_beside(target), temp_beside(target, ".json"), temp_beside(target, ".vtt")]  # a SIGKILLed render
    half_hls = tmp_path / ".lesson.hls.k3j2"  # write_hls's working directory, left by a killed render
    (half_hls / "main").mkdir(parents=True)
    (half_hls / "main" / "init.mp4").write_bytes(b"x")
    keep = [target, tmp_path / "lesson.json", tmp_path / ".other.1234.mp4", tmp_path / ".lessons.mp4"]
    for path in keep:
        path.write_bytes(b"x")
    assert remove_temporaries(target) == 4
    assert not any(p.exists() for p in [*leftovers, half_hls])
    assert all(p.exists() for p in keep)
