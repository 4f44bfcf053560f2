"""`edusdk batch`: render a variable matrix (or a JSONL/CSV of outlines) into many lessons, resumably.

`batch` is a group with two verbs, `run` and `status`; a first argument that is not a verb is taken as
the matrix of `run`, so `edusdk batch MATRIX -o DIR` and `edusdk batch run MATRIX -o DIR` are the same
(a matrix file literally named `status` needs the explicit `run`).
"""

from __future__ import annotations

import time
from typing import Any

import click
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edusdk._cli_output import Output, json_option
from edusdk.batch.executors import EXECUTORS
from edusdk.batch.runner import (
    DEFAULT_BACKOFF_S,
    DEFAULT_RETRIES,
    BatchEvent,
    BatchSummary,
    batch_results,
    batch_status,
    run_batch,
)


class _BatchGroup(click.Group):
    """A group whose default verb is `run`: `edusdk batch MATRIX …` means `edusdk batch run MATRIX …`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_BatchGroup)
def batch() -> None:
    """Render many lessons from one template × a matrix of variables; resumable; local pool or Ray.

    \b
    Examples:
      edusdk batch examples/batch/fractions-matrix.yaml -o out/fractions --size 320x180 --fps 12
      edusdk batch examples/batch/fractions-matrix.yaml -o out/fractions --resume      # after an interruption
      edusdk batch status out/fractions --json
    """


@batch.command("run")
@click.argument("matrix", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory: batch.db (the job store), lessons/<id>/lesson.mp4, summary.json.",
)
@click.option("--executor", default="local", show_default=True, type=click.Choice(EXECUTORS))
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    help="Lessons at once (default: CPU cores for storyboard, GPUs for diffusers; Ray: the cluster's).",
)
@click.option("--address", help="Ray cluster: 'auto' or 'ray://host:10001' (default: start a local Ray).")
@click.option("--resume", is_flag=True, help="Finish the batch already in the output directory.")
@click.option("--size", help="Frame size WxH (default: the matrix's render.size, else the outline's aspect at 720p).")
@click.option("--fps", type=click.IntRange(1, 120), help="Frames per second (default: the matrix's, else 30).")
@click.option("--engine", help="Engine name (default: the matrix's, else storyboard).")
@click.option("--policy", help="Moderation policy pack (default: the matrix's, else k12).")
@click.option(
    "--retries",
    default=DEFAULT_RETRIES,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Retries of a failed lesson (engine or ffmpeg error) before it is recorded failed.",
)
@click.option(
    "--backoff",
    default=DEFAULT_BACKOFF_S,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="Seconds before the first retry; doubles each time.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@json_option
@click.pass_context
def run(
    ctx: click.Context,
    matrix: str,
    output: str,
    executor: str,
    workers: int | None,
    address: str | None,
    resume: bool,
    size: str | None,
    fps: int | None,
    engine: str | None,
    policy: str | None,
    retries: int,
    backoff: float,
    quiet: bool,
    as_json: bool,
) -> None:
    """Render every lesson of MATRIX into OUTPUT; exit 0 if all are done, 1 if any failed or was blocked.

    \b
    Example:
      edusdk batch run examples/batch/fractions-matrix.yaml -o out/fractions --workers 2 --json
      edusdk batch run m.yaml -o out/m --executor ray --address auto
    """
    out = ctx.ensure_object(Output)
    out.as_json, out.quiet = as_json, quiet
    options: dict[str, Any] = dict(
        executor=executor,
        workers=workers,
        address=address,
        resume=resume,
        size=size,
        fps=fps,
        engine=engine,
        policy=policy,
        retries=retries,
        backoff_s=backoff,
    )
    if as_json or quiet:
        summary = run_batch(matrix, output, **options)
    else:
        with _LiveProgress(out) as live:
            summary = run_batch(matrix, output, on_event=live.update, **options)
    out.result(summary.as_json(), lambda: _print_summary(out, summary))
    ctx.exit(0 if summary.ok else 1)


@batch.command("status")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--lessons", "list_lessons", is_flag=True, help="List every lesson with its state.")
@json_option
@click.pass_context
def status(ctx: click.Context, directory: str, list_lessons: bool, as_json: bool) -> None:
    """Show a batch's progress from its job store (counts by state, failures; nothing runs).

    \b
    Example:
      edusdk batch status out/fractions --json
    """
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    summary = batch_status(directory)
    data = summary.as_json()
    for key in ("rendered", "wall_s", "lessons_per_min", "workers"):
        data.pop(key)
    results = batch_results(directory) if list_lessons else []
    if list_lessons:
        data["lessons"] = [r.__dict__ for r in results]

    def human() -> None:
        _print_counts(out, summary)
        if list_lessons:
            table = Table("id", "state", "tries", "title", "variables")
            for r in results:
                table.add_row(
                    r.item_id, r.state, str(r.attempts), r.title, ", ".join(f"{k}={v}" for k, v in r.variables.items())
                )
            out.console.print(table)
        _print_failures(out, summary)

    out.result(data, human)


class _LiveProgress:
    """An overall bar and one line per lesson in flight (which worker slot renders what, for how long)."""

    def __init__(self, out: Output) -> None:
        self.progress = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[states]}"),
            TimeElapsedColumn(),
        )
        self.task = self.progress.add_task("batch", total=None, states="")
        self.slots: list[tuple[str, str, float, int] | None] = []  # per worker slot: id, title, since, attempt
        self.live = Live(self._view(), console=out.errors, refresh_per_second=4, transient=True)

    def __enter__(self) -> _LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)

    def update(self, event: BatchEvent) -> None:
        r = event.result
        held = [i for i, slot in enumerate(self.slots) if slot is not None and slot[0] == r.item_id]
        for i in held:
            self.slots[i] = None
        if event.kind == "retry":  # printed above the live view, so the reason stays on screen
            self.live.console.print(
                f"retrying {r.item_id} ({r.title}) after attempt {r.attempts}: {r.error}", markup=False, highlight=False
            )
        if event.kind == "started":
            entry = (r.item_id, r.title, time.monotonic(), r.attempts)
            free = next((i for i, slot in enumerate(self.slots) if slot is None), None)
            if free is None:
                self.slots.append(entry)
            else:
                self.slots[free] = entry
        c = event.counts
        final = c["done"] + c["blocked"] + c["failed"]
        states = f"done {c['done']} · blocked {c['blocked']} · failed {c['failed']} · running {c['running']}"
        self.progress.update(self.task, total=event.total, completed=final, states=states)
        self.live.update(self._view())

    def _view(self) -> Group:
        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        for number, slot in enumerate(self.slots, start=1):
            if slot is None:
                table.add_row(f"  worker {number}", "idle", "", "")
                continue
            item_id, title, since, attempt = slot
            retry = f" (attempt {attempt})" if attempt > 1 else ""
            table.add_row(f"  worker {number}", item_id, f"{title}{retry}", f"{now - since:.0f} s")
        return Group(self.progress, table)


def _print_counts(out: Output, summary: BatchSummary) -> None:
    counts = " · ".join(f"{state} {n}" for state, n in summary.counts.items())
    out.console.print(f"{summary.output_dir}: {summary.total} lessons — {counts}")
    out.console.print(f"  video rendered: {summary.video_s:.1f} s")


def _print_failures(out: Output, summary: BatchSummary) -> None:
    for failure in summary.failures:
        click.echo(
            f"  {failure['state']}: {failure['item_id']} ({failure['title']}) after {failure['attempts']} "
            f"attempt(s): {failure['error']}",
            err=True,
        )


def _print_summary(out: Output, summary: BatchSummary) -> None:
    mark = "[green]✓[/]" if summary.ok else "[red]✗[/]"
    out.console.print(
        f"{mark} {summary.rendered} rendered in {summary.wall_s:.1f} s "
        f"({summary.lessons_per_min:.1f} lessons/min, {summary.executor} × {summary.workers})"
    )
    _print_counts(out, summary)
    _print_failures(out, summary)
