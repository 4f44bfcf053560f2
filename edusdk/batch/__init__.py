"""Template-driven batch generation: a variable matrix → many lessons, resumable, on one machine or Ray.

    matrix (YAML / JSONL / CSV) ─▶ load_matrix ─▶ BatchItem per lesson (stable id from its values)
        ─▶ JobStore (DIR/batch.db: pending → running → done | blocked | failed)
        ─▶ executor (local process pool, or Ray tasks) ─▶ client.lessons.render per lesson

Example:
    >>> from edusdk.batch import run_batch
    >>> summary = run_batch("examples/batch/fractions-matrix.yaml", "out/fractions", size="320x180", fps=12)
    >>> summary.counts["done"], round(summary.video_s)
    (108, 1382)
"""

from edusdk.batch.executors import EXECUTORS, default_workers
from edusdk.batch.matrix import BatchItem, BatchMatrix, load_matrix, matrix_from_outlines, matrix_from_spec
from edusdk.batch.runner import BatchEvent, BatchResult, BatchSummary, batch_results, batch_status, run_batch
from edusdk.batch.store import STATES, JobStore

__all__ = [
    "EXECUTORS",
    "STATES",
    "BatchEvent",
    "BatchItem",
    "BatchMatrix",
    "BatchResult",
    "BatchSummary",
    "JobStore",
    "batch_results",
    "batch_status",
    "default_workers",
    "load_matrix",
    "matrix_from_outlines",
    "matrix_from_spec",
    "run_batch",
]
