"""`client.batch`: start a batch from Python and read its lessons as they finish.

Example:
    >>> job = client.batch.submit("examples/batch/fractions-matrix.yaml", output_dir="out/fractions", size="320x180")
    >>> for result in job.results():          # each lesson once, as it reaches done / blocked / failed
    ...     print(result.item_id, result.state, result.video)
    >>> job.summary().ok
    True
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edusdk._errors import BadInputError
from edusdk.batch.matrix import BatchMatrix, load_matrix, matrix_from_outlines
from edusdk.batch.runner import BatchEvent, BatchResult, BatchSummary, batch_status, run_batch
from edusdk.models.outline import Outline

if TYPE_CHECKING:
    from edusdk._client import EduClient

_DONE = object()


class BatchJob:
    """A batch running in a background thread of this process (its workers are processes or Ray tasks)."""

    def __init__(self, matrix: BatchMatrix, output_dir: Path, options: dict[str, Any]) -> None:
        self.matrix = matrix
        self.output_dir = output_dir
        self._events: queue.Queue[Any] = queue.Queue()
        self._summary: BatchSummary | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(options,), name="edusdk-batch", daemon=True)
        self._thread.start()

    def _run(self, options: dict[str, Any]) -> None:
        try:
            self._summary = run_batch(self.matrix, self.output_dir, on_event=self._events.put, **options)
        except BaseException as exc:  # handed to the caller by results() / summary()
            self._error = exc
        finally:
            self._events.put(_DONE)

    def results(self) -> Iterator[BatchResult]:
        """Every lesson's final result, as it finishes (those final before a resume come first).
        Raises what the batch raised (e.g. BadInputError) once the results so far are read."""
        while True:
            event = self._events.get()
            if event is _DONE:
                break
            assert isinstance(event, BatchEvent)
            if event.kind in ("finished", "skipped"):
                yield event.result
        self._raise()

    def summary(self, timeout: float | None = None) -> BatchSummary:
        """Wait for the batch to end; its summary (counts, video seconds, wall time, failures)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the batch in {self.output_dir} is still running")
        self._raise()
        assert self._summary is not None
        return self._summary

    def status(self) -> BatchSummary:
        """The job store's counts right now (works while the batch runs)."""
        return batch_status(self.output_dir)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


class BatchResource:
    """`client.batch`: batches with the client's engine, policy and analytics database."""

    def __init__(self, client: EduClient) -> None:
        self._client = client

    def submit(
        self,
        matrix: str | Path | BatchMatrix | Sequence[Outline],
        *,
        output_dir: str | Path,
        executor: str = "local",
        workers: int | None = None,
        address: str | None = None,
        resume: bool = False,
        size: str | None = None,
        fps: int | None = None,
        engine: str | None = None,
        retries: int = 2,
        backoff_s: float = 1.0,
    ) -> BatchJob:
        """Start rendering `matrix` (a matrix file, a loaded BatchMatrix, or outlines) into `output_dir`.

        Lessons render with the client's policy, analytics database and engine (`engine`, else the matrix's
        `render.engine`, else the client's); the executor and retries are as for `run_batch`.

        The matrix is read now, so a bad one raises BadInputError here; the renders run in the background.

        Example:
            >>> job = client.batch.submit("m.yaml", output_dir="out/m", workers=2)
            >>> [r.state for r in job.results()]
            ['done', 'done', 'blocked', 'done']
        """
        if isinstance(matrix, BatchMatrix):
            loaded = matrix
        elif isinstance(matrix, str | Path):
            loaded = load_matrix(matrix)
        else:
            loaded = matrix_from_outlines(list(matrix))
        client = self._client
        if not isinstance(client._engine_spec, str):
            raise BadInputError("a batch renders in worker processes: give the client's engine by name")
        engine = engine or loaded.render.engine or client._engine_spec
        options: dict[str, Any] = dict(
            executor=executor, workers=workers, address=address, resume=resume, size=size, fps=fps,
            engine=engine, engine_options=client._engine_options if engine == client._engine_spec else {},
            policy=client._policy, db=client._db, retries=retries, backoff_s=backoff_s,
        )  # fmt: skip
        return BatchJob(loaded, Path(output_dir), options)
