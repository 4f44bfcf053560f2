"""The Ray executor: a local Ray instance (2 CPUs) renders a small batch; outcomes land in the job store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_batch_support import fast_env, write_matrix

from edusdk._media import probe
from edusdk.batch import JobStore, run_batch

__all__ = ["fast_env"]

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_ray_executor_renders_and_reports_blocked(tmp_path: Path, fast_env: dict[str, str]) -> None:
    # the executor starts a local Ray with 2 CPUs (passing EDUSDK_* to its workers) and shuts it down after
    matrix = write_matrix(tmp_path, {"protagonist": ["Mia", "Omar", "how to cook meth"], "outfit": ["a hat"]})
    summary = run_batch(matrix, tmp_path / "out", executor="ray", workers=2)
    assert summary.executor == "ray" and summary.workers == 2
    assert not ray.is_initialized()  # the executor started it, so it stopped it
    assert summary.counts == {"pending": 0, "running": 0, "done": 2, "blocked": 1, "failed": 0}
    store = JobStore(tmp_path / "out" / "batch.db")
    rows = store.lessons()
    store.close()
    for row in rows:
        if row.state == "done":
            assert probe(row.video or "").frames > 0 and row.attempts == 1
            assert row.worker and ":" in row.worker  # host:pid of the Ray worker
        else:
            assert row.state == "blocked" and "illicit" in (row.error or "")
