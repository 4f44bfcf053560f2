"""The `edusdk` command line: noun-verb commands, one output sink, errors formatted in one place.

Exit codes: 0 success · 1 refused by policy or failed · 2 bad input.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml
from rich.table import Table

from edusdk._cli_output import Output, json_option, print_findings
from edusdk._client import EduClient
from edusdk._errors import BadInputError, EduSDKError, PolicyRefusedError
from edusdk._version import __version__
from edusdk.cli_analytics import COMMANDS as analytics_commands
from edusdk.cli_batch import batch as batch_group
from edusdk.cli_compose import compose as compose_command
from edusdk.cli_engine import serve as engine_serve
from edusdk.cli_engine_local import tiny_model
from edusdk.cli_moderation import moderate_video
from edusdk.cli_moderation import moderation as moderation_group
from edusdk.models.lesson import Lesson
from edusdk.models.outline import Outline
from edusdk.models.script import Script
from edusdk.narration import FilesNarrator, Narrator, default_narrator, get_narrator

ASPECTS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")


def _fail(out: Output, exc: EduSDKError) -> NoReturn:
    if isinstance(exc, PolicyRefusedError) and out.as_json:
        click.echo(json.dumps({"error": exc.message, "moderation": exc.report.model_dump(mode="json")}, indent=2))
    else:
        # plain click.echo: rich would wrap long paths and read "[0]" in field paths as markup
        click.echo(f"{click.style('error:', fg='red', bold=True)} {exc.message}", err=True)
        if isinstance(exc, PolicyRefusedError):
            print_findings(exc.report)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
    if os.environ.get("EDUSDK_DEBUG"):
        traceback.print_exc()
    sys.exit(exc.exit_code)


def _load_source(path: str) -> Outline | Script:
    """An outline, or a saved script (a YAML document with `shots:`), by its content."""
    file = Path(path)
    if file.suffix.lower() in (".yaml", ".yml") and file.is_file():
        try:
            head = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            head = None  # Outline.from_file reports it with its line number
        if isinstance(head, dict) and "shots" in head:
            return Script.from_file(file)
    return Outline.from_file(file)


def _lesson_json(lesson: Lesson) -> dict[str, Any]:
    return {
        "lesson_id": lesson.lesson_id,
        "video": str(lesson.video),
        "manifest": str(lesson.manifest),
        "captions": str(lesson.captions),
        "duration_s": round(lesson.duration_s, 3),
        "shots": len(lesson.timeline),
        "publishable": lesson.publishable,
        "moderation": {
            "decision": lesson.moderation.decision,
            "policy": lesson.moderation.policy,
            "findings": [f.model_dump(mode="json") for f in lesson.moderation.findings],
        },
    }


def _check_renditions(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """Reject an unknown --rendition name before anything renders (exit 2, naming the flag)."""
    from edusdk.compose.renditions import parse_rendition

    for spec in value:
        try:
            parse_rendition(spec, width=1280, height=720)  # the name alone decides whether it is valid
        except BadInputError as exc:
            raise click.BadParameter(exc.message, ctx=ctx, param=param) from None
    return value


class _Group(click.Group):
    """Formats every EduSDKError in one place (one line, a hint; EDUSDK_DEBUG=1 adds the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EduSDKError as exc:
            _fail(ctx.find_object(Output) or Output(), exc)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edusdk")
@click.pass_context
def main(ctx: click.Context) -> None:
    """edusdk: lesson outlines → moderated lesson videos, and analytics on how students watch them.

    \b
    Example:
      edusdk render examples/outlines/photosynthesis.yaml -o out/lesson.mp4
    Set EDUSDK_DEBUG=1 for tracebacks; EDUSDK_DB for the analytics database.
    """
    ctx.obj = Output()


@main.command()
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default="out/lesson.mp4", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the .mp4 (lesson.json and .vtt go beside it).")  # fmt: skip
@click.option("--aspect", type=click.Choice(ASPECTS), help="Aspect ratio (default: the outline's).")
@click.option("--size", help="Exact frame size WxH, e.g. 1280x720 (overrides --aspect).")
@click.option("--fps", default=30, show_default=True, type=click.IntRange(1, 120))
@click.option("--engine", default="storyboard", show_default=True, help="Engine name: storyboard, diffusers, remote.")
@click.option("--model", help="Model: a local diffusers directory (diffusers) or a model name (remote).")
@click.option("--base-url", help="Remote engine base URL, e.g. http://127.0.0.1:8700/v1.")
@click.option("--api-key", envvar="EDUSDK_API_KEY", help="Remote engine API key (or EDUSDK_API_KEY).")
@click.option("--policy", default="k12", show_default=True, help="Moderation policy pack.")
@click.option("--burn-captions", is_flag=True, help="Also draw the captions onto the frames (styled per size).")
@click.option("--extras", is_flag=True, help="Also write <stem>.poster.jpg, <stem>.sprite.jpg and <stem>.thumbs.vtt.")
@click.option(
    "--rendition",
    "renditions",
    multiple=True,
    callback=_check_renditions,
    metavar="NAME",
    help="Also write <stem>.<NAME>.mp4: 1080p, 720p, 480p, 360p, 16:9, 9:16, 1:1, 4:5 or WxH (repeatable).",
)
@click.option(
    "--reframe",
    type=click.Choice(["blur", "crop"]),
    default="blur",
    show_default=True,
    help="How renditions of another aspect ratio are reframed: blurred pad or centre crop.",
)
@click.option("--hls", is_flag=True, help="Also write <stem>.hls/ (fMP4 segments + master.m3u8), stream-copied.")
@click.option(
    "--smart/--no-smart",
    default=True,
    show_default=True,
    help="Stream-copy all but the transitions when the clips allow it; --no-smart re-encodes everything.",
)
@click.option(
    "--narrator",
    default=None,
    metavar="NAME",
    help="Who speaks the narration: auto (default: Piper if the narration extra is installed), piper, none, "
    "or a Piper voice .onnx file.",
)
@click.option(
    "--narration-dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Recorded narration: <shot_id>.wav/.mp3/… per shot; the --narrator speaks the others.",
)
@click.option(
    "--music",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Background music, looped under the lesson and ducked while the narration speaks.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@json_option
@click.pass_context
def render(
    ctx: click.Context, source: str, output: str, aspect: str | None, size: str | None, fps: int,
    engine: str, model: str | None, base_url: str | None, api_key: str | None, policy: str,
    burn_captions: bool, extras: bool, renditions: tuple[str, ...], reframe: str, hls: bool, smart: bool,
    narrator: str | None, narration_dir: str | None, music: str | None, quiet: bool, as_json: bool,
) -> None:  # fmt: skip
    """Render an outline (or a saved script) into a lesson video.

    \b
    Example:
      edusdk render examples/outlines/photosynthesis.yaml -o out/lesson.mp4 --aspect 9:16 --json
      edusdk render examples/outlines/photosynthesis.yaml --rendition 720p --rendition 9:16 --extras --hls
      edusdk render examples/outlines/photosynthesis.yaml --narration-dir recordings/ --music bed.mp3
    """
    out = ctx.ensure_object(Output)
    out.as_json, out.quiet = as_json, quiet
    voice = _narrator(narrator, narration_dir)
    engine_options = {"model": model, "base_url": base_url, "api_key": api_key}
    lesson = _render(out, source, output=output, aspect=aspect, size=size, fps=fps, engine=engine, policy=policy,
                     engine_options={k: v for k, v in engine_options.items() if v is not None},
                     burn_captions=burn_captions, extras=extras, renditions=list(renditions), reframe=reframe,
                     hls=hls, smart=smart, narrator=voice, music=music)  # fmt: skip
    files = _written_files(lesson)

    def human() -> None:
        out.console.print(f"[green]✓[/] {lesson.video}  ({lesson.duration_s:.1f} s, {len(lesson.timeline)} shots)")
        out.console.print(f"  manifest {lesson.manifest}\n  captions {lesson.captions}")
        for path in files[4:]:  # poster, sprite, HLS master playlist, renditions
            out.console.print(f"  also {path}")
        out.console.print(f"  moderation: {lesson.moderation.decision} (policy {lesson.moderation.policy})")
        if not lesson.publishable:
            print_findings(lesson.moderation)

    out.result({**_lesson_json(lesson), "files": files}, human)


def _written_files(lesson: Lesson) -> list[str]:
    """Every file the render wrote: video, manifest, .vtt, .srt, then what the manifest's `compose` lists (for
    HLS its master playlist; the segments sit beside it in `<stem>.hls/`)."""
    compose = json.loads(lesson.manifest.read_text(encoding="utf-8")).get("compose", {})
    files = [lesson.video, lesson.manifest, lesson.captions, lesson.captions.with_suffix(".srt")]
    files += [Path(compose[k]) for k in ("poster", "sprite", "thumbs", "hls_master") if compose.get(k)]
    files += [Path(r["path"]) for r in compose.get("renditions", [])]
    return [str(f) for f in files if f.is_file()]


def _narrator(name: str | None, folder: str | None) -> str | Narrator | None:
    """--narrator and --narration-dir as one narrator (None: the client's default, i.e. $EDUSDK_NARRATOR or auto).

    A name alone is checked here and resolved by the client, so "none" stays silent and "auto" keeps its
    language rule; with a folder, the named (or default) narrator speaks the shots without a recording.
    """
    try:
        if folder is None:
            if name is not None:
                get_narrator(name)  # a bad name fails here, naming the flag
            return name
        return FilesNarrator.from_dir(folder, fallback=get_narrator(name or default_narrator()))
    except BadInputError as exc:
        flag = "--narration-dir" if folder is not None and "narration" in str(exc) else "--narrator"
        raise click.BadParameter(str(exc), param_hint=flag) from None


def _render(out: Output, source: str, **options: Any) -> Lesson:
    loaded = _load_source(source)
    client = EduClient(policy=options.pop("policy"), engine=options["engine"],
                       engine_options=options.pop("engine_options", None))  # fmt: skip
    with client, out.render_progress() as progress:
        return client.lessons.render(loaded, on_progress=progress, **options)


@main.command()
@click.argument("outline", type=click.Path(dir_okay=False))
@click.option("--template", help="Template name (default: the outline's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Save the script to this YAML file.")
@click.option("--variants", "all_variants", is_flag=True, help="Expand every variant of the outline's matrix.")
@json_option
@click.pass_context
def script(
    ctx: click.Context, outline: str, template: str | None, output: str | None, all_variants: bool, as_json: bool
) -> None:
    """Expand an outline into its script (YAML; edit it and `edusdk render` it as is).

    \b
    Example:
      edusdk script examples/outlines/pythagoras.yaml -o pythagoras.script.yaml
      edusdk script examples/outlines/fractions-matrix.yaml --variants --json   # a JSON list, one per variant
    """
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    if all_variants:
        if output:
            raise click.UsageError("--variants prints every script; it cannot be combined with -o")
        from edusdk.script.matrix import variant_id

        scripts = EduClient().scripts.variants(Outline.from_file(outline), template=template)
        listed = [{"variant_id": variant_id(s.variables), **s.model_dump(mode="json")} for s in scripts]
        out.result(listed, lambda: click.echo("---\n".join(s.to_yaml() for s in scripts), nl=False))
        return
    expanded = EduClient().scripts.expand(Outline.from_file(outline), template=template)
    if output:
        from edusdk._fs import write_text_atomic

        write_text_atomic(output, expanded.to_yaml())
    out.result(expanded.model_dump(mode="json"), lambda: click.echo(expanded.to_yaml(), nl=False))


@main.command()
@click.argument("source", required=False, type=click.Path(dir_okay=False))
@click.option("--text", help="Check this text instead of a file.")
@click.option("--policy", default="k12", show_default=True, help="Moderation policy pack.")
@json_option
@click.pass_context
def moderate(ctx: click.Context, source: str | None, text: str | None, policy: str, as_json: bool) -> None:
    """Check text or an outline/script against a policy; exit 0 allow, 1 review or block.

    \b
    Examples:
      edusdk moderate --text "Draw Pikachu explaining fractions" --json
      edusdk moderate examples/outlines/photosynthesis.yaml
      edusdk moderate out/lesson.mp4     # provenance (C2PA / AI label; EDUSDK_C2PA_TRUST) + frame checks
    """
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    if (source is None) == (text is None):
        raise BadInputError("give either a file or --text")
    if source is not None and source.lower().endswith(".mp4"):
        moderate_video(out, source, policy=policy)
    client = EduClient(policy=policy)
    if text is not None:
        report = client.moderation.check_text(text, where="text")
    else:
        assert source is not None
        loaded = _load_source(source)
        report = client.moderation.check_script(loaded if isinstance(loaded, Script) else client.scripts.expand(loaded))

    def human() -> None:
        out.console.print(f"{report.decision} (policy {report.policy} v{report.policy_version})")
        print_findings(report)
        if text is not None and report.redacted_text not in (None, text):
            click.echo(f"redacted: {report.redacted_text}")

    out.result(report.model_dump(mode="json"), human)
    sys.exit(0 if report.decision == "allow" else 1)


@main.group()
def engine() -> None:
    """Video engines: serve one over HTTP, make tiny test models.

    \b
    Example:
      edusdk engine serve --engine storyboard --port 8700
    """


engine.add_command(engine_serve)
engine.add_command(tiny_model)
main.add_command(compose_command)
main.add_command(batch_group)
main.add_command(moderation_group)


@main.group()
def analytics() -> None:
    """Query the analytics store (EDUSDK_DB, default ./edusdk.db).

    \b
    Example:
      edusdk analytics lessons --json
    """


@analytics.command("lessons")
@json_option
@click.pass_context
def analytics_lessons(ctx: click.Context, as_json: bool) -> None:
    """List the rendered lessons the store knows, newest first.

    \b
    Example:
      EDUSDK_DB=out/edusdk.db edusdk analytics lessons
    """
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    with EduClient() as client:
        lessons = client.analytics.list_lessons()

    def human() -> None:
        table = Table("title", "duration", "shots", "moderation", "created")
        table.add_column("lesson_id", no_wrap=True, min_width=20)  # ids are copied from here: never truncate
        for lesson in lessons:
            table.add_row(lesson.title, f"{lesson.duration_s:.1f} s", str(lesson.shots), lesson.moderation,
                          f"{lesson.created_at:%Y-%m-%d %H:%M}", lesson.lesson_id)  # fmt: skip
        out.console.print(table)

    out.result([lesson.model_dump(mode="json") for lesson in lessons], human)


@main.command()
@click.option("--outline", default="examples/outlines/photosynthesis.yaml", show_default=True,
              type=click.Path(dir_okay=False))  # fmt: skip
@click.option("-o", "--output", default="out/demo/lesson.mp4", show_default=True, type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def demo(ctx: click.Context, outline: str, output: str, as_json: bool) -> None:
    """Render the example lesson end to end: script, moderation, storyboard engine, compose, analytics.

    \b
    Example:
      edusdk demo -o out/demo/lesson.mp4
    """
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    lesson = _render(out, outline, output=output, engine="storyboard", policy="k12")
    with EduClient() as client:
        segments = client.analytics.shot_segments(lesson.lesson_id)
    data = {**_lesson_json(lesson), "registered_segments": len(segments)}

    def human() -> None:
        out.console.print(f"[bold]{lesson.script.title}[/] — {lesson.duration_s:.1f} s, {len(lesson.timeline)} shots")
        table = Table("shot", "start", "end", "transition", "on screen")
        for entry, shot in zip(lesson.timeline, lesson.script.shots, strict=True):
            table.add_row(entry.shot_id, f"{entry.start_s:.2f}", f"{entry.end_s:.2f}", entry.transition_out,
                          shot.on_screen.title)  # fmt: skip
        out.console.print(table)
        out.console.print(f"moderation: {lesson.moderation.decision} · analytics: {len(segments)} shot segments "
                          f"registered for {lesson.lesson_id}")  # fmt: skip
        audio = json.loads(lesson.manifest.read_text(encoding="utf-8")).get("compose", {}).get("audio")
        if audio:
            out.console.print(f"narration: {audio['narrator']} · {len(audio['narrated_shots'])} shots · "
                              f"{audio['loudness_lufs']} LUFS")  # fmt: skip
        else:
            out.console.print("narration: none (pip install 'edusdk[narration]' for the offline voice)")
        out.console.print(f"[green]video:[/] {lesson.video}\n[green]manifest:[/] {lesson.manifest}\n"
                          f"[green]captions:[/] {lesson.captions}")  # fmt: skip

    out.result(data, human)


for _command in analytics_commands:
    analytics.add_command(_command)


if __name__ == "__main__":
    main()
