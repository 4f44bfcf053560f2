"""`edusdk compose`: join the user's own clips with named transitions into one MP4 (+ caption sidecars)."""

from __future__ import annotations

from typing import Any

import click

from edusdk._cli_output import Output, json_option
from edusdk._errors import BadInputError
from edusdk._lessons import parse_size
from edusdk.compose.footage import compose_files
from edusdk.compose.graph import DEFAULT_CRF, DEFAULT_PRESET, X264_PRESETS
from edusdk.compose.render import ComposeResult
from edusdk.compose.renditions import REFRAMES, Reframe


def result_json(result: ComposeResult) -> dict[str, Any]:
    """The `--json` document of a compose run."""
    return {
        "video": str(result.video),
        "captions": str(result.captions),
        "srt": str(result.srt) if result.srt else None,
        "method": result.method,
        "note": result.note,
        "frames": result.info.frames,
        "duration_s": round(result.info.duration_s, 3),
        "width": result.info.width,
        "height": result.info.height,
        "fps": result.info.fps,
        "clips": [
            {
                "clip": e.shot_id,
                "file": e.variables.get("file", ""),
                "start_s": round(e.start_s, 4),
                "end_s": round(e.end_s, 4),
                "transition_out": e.transition_out,
            }
            for e in result.timeline
        ],
        "cues": len(result.cues),
        **{
            k: v
            for k, v in result.manifest_entry().items()
            if k in ("poster", "sprite", "thumbs", "renditions", "quality", "audio")
        },
    }


@click.command()
@click.argument("clips", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .mp4 to write (.vtt and .srt captions go beside it).")  # fmt: skip
@click.option("-t", "--transition", "transitions", multiple=True, metavar="NAME=SECONDS",
              help="xfade transition (or 'cut'): once for every join, or once per join in order.")  # fmt: skip
@click.option("--captions", type=click.Path(dir_okay=False), help="A WebVTT or SRT file timed to the output.")
@click.option("--size", help="Output frame size WxH (default: the first clip's).")
@click.option("--fps", type=click.IntRange(1, 120), help="Output frame rate (default: the first clip's).")
@click.option("--preset", default=DEFAULT_PRESET, show_default=True, type=click.Choice(X264_PRESETS))
@click.option("--crf", default=DEFAULT_CRF, show_default=True, type=click.IntRange(0, 51))
@click.option("--no-smart", is_flag=True, help="Re-encode everything, even clips that could be stream-copied.")
@click.option("--title", default="", help="Title metadata of the output.")
@click.option("--burn-captions", is_flag=True, help="Also draw the captions onto the frames (forces a re-encode).")
@click.option("--extras", is_flag=True, help="Also write <stem>.poster.jpg, <stem>.sprite.jpg and <stem>.thumbs.vtt.")
@click.option("--rendition", "renditions", multiple=True, metavar="NAME",
              help="Extra output: 1080p, 720p, 480p, 360p, 9:16, 1:1, 4:5, 16:9 or WxH (repeatable).")  # fmt: skip
@click.option("--reframe", default="blur", show_default=True, type=click.Choice(REFRAMES),
              help="Reframing for another aspect ratio: blurred-background pad or centre crop.")  # fmt: skip
@click.option("--no-audio", is_flag=True, help="Drop the clips' own sound (kept and crossfaded by default).")
@click.option("--music", type=click.Path(dir_okay=False), metavar="FILE",
              help="Background music, looped and ducked under the clips' sound.")  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@json_option
@click.pass_context
def compose(
    ctx: click.Context, clips: tuple[str, ...], output: str, transitions: tuple[str, ...], captions: str | None,
    size: str | None, fps: int | None, preset: str, crf: int, no_smart: bool, title: str,
    burn_captions: bool, extras: bool, renditions: tuple[str, ...], reframe: Reframe, no_audio: bool,
    music: str | None, quiet: bool, as_json: bool,
) -> None:  # fmt: skip
    """Join video files (any codec, size, frame rate) with transitions into one H.264 MP4.

    Clips are normalised to the first clip's size and frame rate unless --size/--fps say otherwise.
    Clips already encoded like the output (e.g. edusdk's own) are stream-copied outside the transitions.

    \b
    Example:
      edusdk compose intro.mp4 lab.mov outro.mp4 -t fade=0.5 -t wipeleft=1 -o out/joined.mp4 --captions cues.vtt
    """
    out = ctx.ensure_object(Output)
    out.as_json, out.quiet = as_json, quiet
    if captions is not None and not captions.lower().endswith((".vtt", ".srt")):
        raise BadInputError(f"--captions {captions}: give a .vtt or .srt file")
    result = compose_files(
        list(clips), list(transitions), output=output, captions=captions,
        size=parse_size(size) if size else None, fps=fps, preset=preset, crf=crf, smart=not no_smart, title=title,
        burn_captions=burn_captions, extras=extras, renditions=list(renditions), reframe=reframe,
        audio=not no_audio, music=music,
    )  # fmt: skip

    def human() -> None:
        info = result.info
        head = f"[bold]{len(clips)} clips[/] → {info.width}x{info.height} {info.fps:g} fps"
        out.console.print(f"{head}, {info.frames} frames ({info.duration_s:.2f} s) · {result.method}: {result.note}")
        out.console.print(f"[green]video:[/] {result.video}\n[green]captions:[/] {result.captions} · {result.srt}")

    out.result(result_json(result), human)
