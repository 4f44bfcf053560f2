"""What every `edusdk` command shares: the output sink, the --json option, how findings are printed.

Command modules (edusdk/cli.py and the cli_*.py beside it) import from here, never from each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from edusdk._lessons import RenderProgress
from edusdk.models.moderation import ModerationReport


class Output:
    """The one output sink: human text (rich) on stdout, or one JSON document with --json."""

    def __init__(self, *, as_json: bool = False, quiet: bool = False) -> None:
        self.as_json = as_json
        self.quiet = quiet
        self.console = Console()
        self.errors = Console(stderr=True)

    def result(self, data: Any, human: Callable[[], None]) -> None:
        """Print a command's result: `data` as JSON, or call `human` to print it for people."""
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
        elif not self.quiet:
            human()

    @contextmanager
    def render_progress(self) -> Iterator[Callable[[RenderProgress], None]]:
        """A progress bar over a render's shots (silent with --json or --quiet or when not a terminal)."""
        if self.as_json or self.quiet:
            yield lambda _p: None
            return
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), console=self.errors, transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("expanding script", total=1.0)

            def update(p: RenderProgress) -> None:
                if p.stage == "generate":
                    done = (p.shot_index + p.fraction) / max(p.shot_count, 1) * 0.8
                    bar.update(task, completed=done, description=f"shot {p.shot_index + 1}/{p.shot_count}")
                elif p.stage == "narrate":
                    bar.update(task, description=f"narrating shot {p.shot_index + 1}/{p.shot_count}")
                elif p.stage == "compose":
                    bar.update(task, completed=0.8, description="composing")
                elif p.stage in ("register", "done"):
                    bar.update(task, completed=1.0, description="registering")
                else:
                    bar.update(task, description=p.stage)

            yield update


def print_findings(report: ModerationReport) -> None:
    for f in report.findings:
        suggestion = f" — try: {f.suggestion}" if f.suggestion else ""
        click.echo(f"  {f.action}: {f.category} in {f.where or 'text'}: {f.span!r}{suggestion}", err=True)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object (machine output).")(f)
