"""`edusdk analytics …`: ingest events, lesson metrics, retention, drop-off, A/B comparisons, students, privacy,
and the HTML report. Every command takes `--json`; the database is `--db`, else EDUSDK_DB, else ./edusdk.db.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import click
from rich.table import Table

from edusdk._cli_output import Output, json_option
from edusdk.analytics import Analytics, AnalyticsConfig
from edusdk.analytics.ingest import BATCH_SIZE, relaxed_collector


def _db_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", help="Analytics database URL or SQLite path (default: EDUSDK_DB or ./edusdk.db).")(f)


def _open(db: str | None) -> Analytics:
    if not os.environ.get("EDUSDK_ANALYTICS_KEY"):
        click.echo("warning: EDUSDK_ANALYTICS_KEY is not set; student ids use the public development key", err=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = AnalyticsConfig.from_env()
    return Analytics(db, config=config)


def _out(ctx: click.Context, as_json: bool) -> Output:
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    return out


@click.command("ingest")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--batch-size", default=BATCH_SIZE, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="processes sharing the file [default: 2 for files of 64 MiB or more, else 1]",
)
@_db_option
@json_option
@click.pass_context
def ingest(ctx: click.Context, file: str, batch_size: int, workers: int | None, db: str | None, as_json: bool) -> None:
    """Store a JSON-lines file of compact events and/or xAPI statements (streamed, constant memory).

    \b
    Example:
      edusdk analytics ingest events.jsonl --json
    """
    out = _out(ctx, as_json)
    with _open(db) as analytics, relaxed_collector():  # a small file is ingested in this process, not by workers
        result = analytics.ingest_file(file, batch_size=batch_size, workers=workers)

    def human() -> None:
        out.console.print(f"stored {result.stored}, duplicates {result.duplicates}, rejected {result.rejected}")
        for error in result.errors[:20]:
            click.echo(f"  {error['where']}: {error['reason']}", err=True)

    out.result(result.as_json(), human)


@click.command("metrics")
@click.argument("lesson_id")
@_db_option
@json_option
@click.pass_context
def metrics(ctx: click.Context, lesson_id: str, db: str | None, as_json: bool) -> None:
    """Views, unique viewers, play rate, view duration, % viewed, completion (edX) and ratings of a lesson.

    \b
    Example:
      edusdk analytics metrics photosynthesis-3f2a --json
    """
    out = _out(ctx, as_json)
    with _open(db) as analytics:
        data = analytics.lesson_metrics(lesson_id).model_dump()

    def human() -> None:
        for key, value in data.items():
            out.console.print(f"{key:>26}: {value}")

    out.result(data, human)


@click.command("retention")
@click.argument("lesson_id")
@_db_option
@json_option
@click.pass_context
def retention(ctx: click.Context, lesson_id: str, db: str | None, as_json: bool) -> None:
    """The retention curve: the share of viewers who watched each second of the lesson.

    \b
    Example:
      edusdk analytics retention photosynthesis-3f2a --json
    """
    out = _out(ctx, as_json)
    with _open(db) as analytics:
        curve = analytics.retention(lesson_id)

    def human() -> None:
        out.console.print(f"{curve.lesson_id}: {curve.viewers} viewers, {curve.length_s:.1f} s")
        for second, share in enumerate(curve.retention):
            out.console.print(f"{second:>5} s {'█' * round(share * 40):<40} {share:.0%}")

    out.result(curve.as_json(), human)


@click.command("dropoff")
@click.argument("lesson_id")
@_db_option
@json_option
@click.pass_context
def dropoff(ctx: click.Context, lesson_id: str, db: str | None, as_json: bool) -> None:
    """Drop-off per shot of a lesson, with each shot's prompt and template variables.

    \b
    Example:
      edusdk analytics dropoff photosynthesis-3f2a --json
    """
    out = _out(ctx, as_json)
    with _open(db) as analytics:
        shots = analytics.dropoff(lesson_id)

    def human() -> None:
        table = Table("shot", "start", "end", "reached", "left", "drop-off", "prompt")
        for s in shots:
            table.add_row(
                s.shot_id,
                f"{s.start_s:.1f}",
                f"{s.end_s:.1f}",
                str(s.reached),
                str(s.left),
                f"{s.dropoff_rate:.0%}",
                s.prompt[:60],
            )
        out.console.print(table)

    out.result([s.model_dump() for s in shots], human)


@click.command("compare")
@click.option(
    "--by",
    default="template",
    show_default=True,
    help="template, lesson, or a template variable name (e.g. protagonist).",
)
@click.option("--value", "values", multiple=True, help="Only these values (repeat); the first is the baseline.")
@_db_option
@json_option
@click.pass_context
def compare(ctx: click.Context, by: str, values: tuple[str, ...], db: str | None, as_json: bool) -> None:
    """A/B comparison of completion between variants: z-test or Fisher exact, P(best), and a verdict.

    \b
    Example:
      edusdk analytics compare --by protagonist --value robot --value kangaroo --json
    """
    out = _out(ctx, as_json)
    with _open(db) as analytics:
        result = analytics.compare(by, list(values) or None)

    def human() -> None:
        table = Table("value", "lessons", "views", "completion", "avg watch", "P(best)")
        for g in result.groups:
            table.add_row(
                g.value,
                str(g.lessons),
                str(g.views),
                f"{g.completion_rate:.1%}",
                f"{g.average_watch_s:.1f} s",
                f"{result.probability_best.get(g.value, 0):.2f}",
            )
        out.console.print(table)
        out.console.print(result.verdict)

    out.result(result.model_dump(), human)


@click.command("student")
@click.argument("student_id")
@_db_option
@json_option
@click.pass_context
def student(ctx: click.Context, student_id: str, db: str | None, as_json: bool) -> None:
    """A student's progress over lessons, struggling topics, and the recommended next lesson.

    \b
    Example:
      edusdk analytics student s-42 --json
    """
    out = _out(ctx, as_json)
    with _open(db) as analytics:
        progress = analytics.student_progress(student_id)
        nxt = analytics.recommend_next(student_id)
    data = {
        "student_id": student_id,
        "progress": [p.model_dump() for p in progress],
        "recommendation": nxt.model_dump(),
    }

    def human() -> None:
        for p in progress:
            state = "completed" if p.completed else f"{p.furthest_s:.0f}/{p.length_s:.0f} s"
            flags = f" — struggling: {'; '.join(p.struggling)}" if p.struggling else ""
            out.console.print(f"{p.title} ({p.lesson_id}): {state}{flags}")
        out.console.print(f"next: {nxt.lesson_id or '(generate a variant)'} — {nxt.reason}")

    out.result(data, human)


@click.command("forget")
@click.argument("student_id")
@_db_option
@json_option
@click.pass_context
def forget(ctx: click.Context, student_id: str, db: str | None, as_json: bool) -> None:
    """Delete every row held about a student (the deletion is logged).

    \b
    Example:
      edusdk analytics forget s-42 --json
    """
    out = _out(ctx, as_json)
    with _open(db) as analytics:
        deleted = analytics.forget(student_id)
    out.result({"deleted": deleted}, lambda: out.console.print(f"deleted {deleted} rows about {student_id}"))


@click.command("export")
@click.argument("student_id")
@_db_option
@click.pass_context
def export(ctx: click.Context, student_id: str, db: str | None) -> None:
    """Everything held about a student, as xAPI JSON (always JSON).

    \b
    Example:
      edusdk analytics export s-42 > s-42.json
    """
    out = _out(ctx, True)
    with _open(db) as analytics:
        data = analytics.export(student_id)
    out.result(data, lambda: None)


@click.command("purge")
@click.option("--older-than-days", type=click.FloatRange(min=0), help="Default: EDUSDK_ANALYTICS_RETENTION_DAYS.")
@_db_option
@json_option
@click.pass_context
def purge(ctx: click.Context, older_than_days: float | None, db: str | None, as_json: bool) -> None:
    """Apply the retention setting: delete events older than N days (the deletion is logged).

    \b
    Example:
      edusdk analytics purge --older-than-days 365 --json
    """
    out = _out(ctx, as_json)
    with _open(db) as analytics:
        deleted = analytics.apply_retention(older_than_days)
    out.result({"deleted": deleted}, lambda: out.console.print(f"deleted {deleted} rows"))


@click.command("report")
@click.option("--html", "html_path", required=True, type=click.Path(dir_okay=False), help="Where to write the report.")
@click.option("--lesson", "lesson_id", help="Only this lesson (default: the most recent lessons).")
@_db_option
@json_option
@click.pass_context
def report(ctx: click.Context, html_path: str, lesson_id: str | None, db: str | None, as_json: bool) -> None:
    """A self-contained HTML report: retention over shots, drop-off, variants, completion trend.

    \b
    Example:
      edusdk analytics report --html report.html --lesson photosynthesis-3f2a
    """
    from edusdk.analytics.report import write_report

    out = _out(ctx, as_json)
    with _open(db) as analytics:
        path = write_report(analytics, html_path, lesson_id)
    out.result({"report": str(path)}, lambda: out.console.print(f"[green]✓[/] {path}"))


@click.command("migrate")
@click.option("--revision", default="head", show_default=True)
@_db_option
@json_option
@click.pass_context
def migrate(ctx: click.Context, revision: str, db: str | None, as_json: bool) -> None:
    """Apply the Alembic migrations of the analytics schema (SQLite or PostgreSQL).

    \b
    Example:
      edusdk analytics migrate --db postgresql://app@db/edusdk --json
    """
    from edusdk.analytics.migrations import upgrade

    out = _out(ctx, as_json)
    at = upgrade(db, revision=revision)
    out.result({"revision": at}, lambda: out.console.print(f"analytics schema at revision {at}"))


COMMANDS = [ingest, metrics, retention, dropoff, compare, student, forget, export, purge, report, migrate]
