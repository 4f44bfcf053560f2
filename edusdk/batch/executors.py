"""Executors run `render_task` for many lessons at once and hand back outcomes as they finish.

- `local`: a process pool on this machine. How many workers by default (`default_workers`):
  the storyboard engine is CPU bound (drawing + one x264 encoder per shot), so one worker per CPU core;
  diffusers holds a model on a GPU, so one worker per GPU, each pinned to its GPU with CUDA_VISIBLE_DEVICES
  (one GPU → one render at a time); remote engines wait on the network, so 4 workers.
  Processes are started with `spawn` (never fork a process holding threads and database connections).
- `ray`: each lesson is a Ray task asking for `num_cpus=1` (storyboard, remote) or `num_gpus=1` (diffusers),
  so a Ray cluster of GPU machines renders a big batch. `address=None` starts a local Ray; `"auto"` joins
  the cluster this machine belongs to; `"ray://host:10001"` connects through Ray Client. EDUSDK_* variables
  travel to the workers in the runtime environment (point EDUSDK_DB at PostgreSQL and the output directory at
  shared storage on a real cluster).

Both keep at most `slots` lessons in flight, so the job store's `running` rows are exactly what is rendering.

Example:
    >>> with make_executor("local", workers=2, engine="storyboard") as pool:
    ...     pool.submit(task)
    ...     [outcome.status for outcome in pool.wait(timeout=60)]
    ['done']
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from edusdk._errors import BadInputError
from edusdk.batch.worker import RenderTask, TaskOutcome, render_task

EXECUTORS = ("local", "ray")
REMOTE_ENGINE_WORKERS = 4
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


class Executor(Protocol):
    """Runs render tasks; `wait` returns the outcomes that finished (possibly none before `timeout`)."""

    name: str
    slots: int

    def submit(self, task: RenderTask) -> None: ...

    def wait(self, timeout: float) -> list[TaskOutcome]: ...

    def in_flight(self) -> int: ...

    def close(self) -> None: ...


def gpu_count() -> int:
    """GPUs visible to this process: CUDA_VISIBLE_DEVICES if set, else torch's count (0 without torch)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    try:
        import torch

        return int(torch.cuda.device_count())
    except Exception:  # no torch, or a broken CUDA install: no GPUs
        return 0


def default_workers(engine: str) -> int:
    """The local pool size rule (see the module docstring)."""
    if engine == "diffusers":
        return max(1, gpu_count())
    if engine == "remote":
        return REMOTE_ENGINE_WORKERS
    return max(1, os.cpu_count() or 1)


def _crashed(task: RenderTask, exc: BaseException) -> TaskOutcome:
    return TaskOutcome(
        task.item_id, "failed", "?", 0.0, error=f"worker crashed: {type(exc).__name__}: {exc}", retryable=True
    )


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the coordinator dies (even by SIGKILL), so no orphan
    finishes a lesson that a resumed batch is rendering again."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _init_worker(gpus: Any = None) -> None:
    _die_with_parent()
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpus.get())


class LocalExecutor:
    """A process pool on this machine (see the module docstring for its size)."""

    name = "local"

    def __init__(self, *, workers: int, engine: str) -> None:
        self.slots = workers
        self._context = multiprocessing.get_context("spawn")
        self._engine = engine
        self._futures: dict[cf.Future[TaskOutcome], RenderTask] = {}
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        gpus = None
        if self._engine == "diffusers" and gpu_count() >= self.slots > 1:
            gpus = self._context.Queue()
            for index in range(self.slots):
                gpus.put(index)
        return cf.ProcessPoolExecutor(self.slots, mp_context=self._context, initializer=_init_worker, initargs=(gpus,))

    def submit(self, task: RenderTask) -> None:
        self._futures[self._pool.submit(render_task, task)] = task

    def in_flight(self) -> int:
        return len(self._futures)

    def wait(self, timeout: float) -> list[TaskOutcome]:
        if not self._futures:
            return []
        done, _ = cf.wait(list(self._futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        outcomes = []
        broken = False
        for future in done:
            task = self._futures.pop(future)
            try:
                outcomes.append(future.result())
            except Exception as exc:  # the worker process died (killed, out of memory): the pool is broken
                broken = True
                outcomes.append(_crashed(task, exc))
        if broken:
            for task in list(self._futures.values()):
                outcomes.append(_crashed(task, RuntimeError("the process pool broke")))
            self._futures.clear()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
        return outcomes

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Each lesson a Ray task with its resource needs (see the module docstring)."""

    name = "ray"

    def __init__(self, *, workers: int | None, engine: str, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise BadInputError("--executor ray needs Ray", hint="pip install 'edusdk[ray]'") from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            env = {k: v for k, v in os.environ.items() if k.startswith("EDUSDK_")}
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "runtime_env": {"env_vars": env},
            }
            if address is None and workers is not None:
                options["num_cpus"] = workers
            ray.init(address=address, **options)
            self._started = True
        gpu = engine == "diffusers"
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        capacity = int(resources.get("GPU" if gpu else "CPU", 1)) or 1
        self.slots = workers or (capacity if engine != "remote" else REMOTE_ENGINE_WORKERS * capacity)
        # max_retries=0: retries are the batch's own (counted and backed off in the job store)
        self._remote = ray.remote(render_task).options(
            num_cpus=0 if gpu else 1, num_gpus=1 if gpu else 0, max_retries=0
        )
        self._refs: dict[Any, RenderTask] = {}

    def submit(self, task: RenderTask) -> None:
        self._refs[self._remote.remote(task)] = task

    def in_flight(self) -> int:
        return len(self._refs)

    def wait(self, timeout: float) -> list[TaskOutcome]:
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        outcomes = []
        for ref in ready:
            task = self._refs.pop(ref)
            try:
                outcomes.append(self._ray.get(ref))
            except Exception as exc:  # the task's worker died, or the node went away
                outcomes.append(_crashed(task, exc))
        return outcomes

    def close(self) -> None:
        for ref in self._refs:
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._started:
            self._ray.shutdown()


def check_executor(name: str, *, workers: int | None = None, address: str | None = None) -> None:
    """BadInputError unless `name`, `workers` and `address` make a valid executor (checked before any work)."""
    if name not in EXECUTORS:
        raise BadInputError(f"executor {name!r} is not one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise BadInputError(f"workers must be at least 1 (got {workers})")
    if name == "local" and address is not None:
        raise BadInputError("--address is for --executor ray")


@contextmanager
def make_executor(
    name: str, *, workers: int | None = None, engine: str = "storyboard", address: str | None = None
) -> Iterator[Executor]:
    """The executor called `name` ('local' or 'ray'), closed on exit."""
    check_executor(name, workers=workers, address=address)
    executor: Executor
    if name == "local":
        executor = LocalExecutor(workers=workers or default_workers(engine), engine=engine)
    else:
        executor = RayExecutor(workers=workers, engine=engine, address=address)
    try:
        yield executor
    finally:
        executor.close()
