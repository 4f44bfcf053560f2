"""Kill -9 the `edusdk batch` process mid-batch, resume it, and check every lesson exists exactly once, whole,
and that the lessons finished before the kill were not rendered again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_batch_support import fast_env, lesson_files, write_matrix

from edusdk._media import probe
from edusdk.batch import JobStore

__all__ = ["fast_env"]

EDUSDK = [sys.executable, "-m", "edusdk.cli"]


def _states(db: Path) -> dict[str, str]:
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return dict(conn.execute("SELECT item_id, state FROM batch_lessons").fetchall())
    except sqlite3.OperationalError:  # the table is not created yet
        return {}


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields after "(name)": state, ppid, …


def _children(pid: int) -> list[int]:
    """Linux: the processes whose parent is `pid` (the batch's pool workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.slow
def test_sigkill_mid_batch_then_resume_renders_each_lesson_once(tmp_path: Path, fast_env: dict[str, str]) -> None:
    matrix = write_matrix(tmp_path, {"protagonist": ["Mia", "Omar", "Kenji"], "outfit": ["a hat", "a scarf"]})
    out = tmp_path / "out"
    db = out / "batch.db"
    env = {**os.environ, **fast_env}
    proc = subprocess.Popen([*EDUSDK, "batch", str(matrix), "-o", str(out), "--workers", "2", "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = _states(db)
        if list(states.values()).count("done") >= 2:
            break
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the batch did not finish two lessons in time")
    workers = _children(proc.pid)
    assert workers  # the pool's worker processes
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]  # they died with the coordinator: no orphan renders on
    states = _states(db)
    assert "running" in states.values() and "pending" in states.values(), states  # killed mid-batch
    finished = {i: (out / "lessons" / i / "lesson.mp4").stat().st_mtime_ns for i, s in states.items() if s == "done"}

    resumed = subprocess.run([*EDUSDK, "batch", str(matrix), "-o", str(out), "--resume", "--json"], env=env,
                             capture_output=True, text=True, timeout=180)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["counts"]["done"] == 6 and summary["rendered"] == 6 - len(finished)

    store = JobStore(db)
    rows = store.lessons()
    store.close()
    assert [r.state for r in rows] == ["done"] * 6
    # exactly the four outputs per lesson: no temporary leftovers, no duplicates, no extra folders
    assert lesson_files(out) == {r.item_id: ["lesson.json", "lesson.mp4", "lesson.srt", "lesson.vtt"] for r in rows}
    for row in rows:
        info = probe(out / "lessons" / row.item_id / "lesson.mp4")
        assert info.frames > 0 and (info.width, info.height) == (96, 54)
        assert json.loads((out / "lessons" / row.item_id / "lesson.json").read_text())["lesson_id"] == row.lesson_id
    for item_id, mtime in finished.items():  # not rendered again
        assert (out / "lessons" / item_id / "lesson.mp4").stat().st_mtime_ns == mtime
        assert next(r for r in rows if r.item_id == item_id).attempts == 1
    with sqlite3.connect(fast_env["EDUSDK_DB"]) as conn:
        registered = conn.execute("SELECT lesson_id FROM lessons").fetchall()
    assert sorted(r[0] for r in registered) == sorted(r.lesson_id or "" for r in rows)
