"""Compose a lesson: clips → timeline → captions → one ffmpeg run → a verified MP4 with a WebVTT sidecar.

Both files appear whole or not at all: the sidecar and the video are written to temporary paths and
renamed only after the probed video has exactly the frames the timeline promised and a subtitle track.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from edusdk._errors import BadInputError, MediaError
from edusdk._fs import atomic_output, check_output_path
from edusdk._media import probe, run_ffmpeg
from edusdk.compose.captions import cues_for, to_webvtt
from edusdk.compose.graph import DEFAULT_CRF, DEFAULT_PRESET, build_compose_command
from edusdk.compose.timeline import build_timeline
from edusdk.models.engine import Clip
from edusdk.models.lesson import CaptionCue, TimelineEntry, VideoInfo
from edusdk.models.script import Script


class ComposeResult(BaseModel):
    """What `render` produced: the video, its caption sidecar, and where every shot and cue sits."""

    model_config = ConfigDict(frozen=True)

    video: Path
    captions: Path
    timeline: list[TimelineEntry]
    cues: list[CaptionCue]
    info: VideoInfo


def _check_result(info: VideoInfo, *, frames: int, width: int, height: int) -> None:
    problems = []
    if info.frames != frames:
        problems.append(f"{info.frames} frames instead of {frames}")
    if (info.width, info.height) != (width, height):
        problems.append(f"size {info.width}x{info.height} instead of {width}x{height}")
    if info.codec != "h264":
        problems.append(f"codec {info.codec} instead of h264")
    if info.subtitle_tracks != 1:
        problems.append(f"{info.subtitle_tracks} subtitle tracks instead of 1")
    if problems:
        raise MediaError(f"the composed video is not what was asked for: {'; '.join(problems)}")


def render(
    script: Script,
    clips: Sequence[Clip],
    *,
    output: Path,
    width: int,
    height: int,
    fps: int,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> ComposeResult:
    """Join `clips` (one per shot, in order) with the script's transitions into `output` (an MP4).

    The captions are written beside it as `<stem>.vtt` and muxed in as a soft subtitle track.

    Example:
        >>> result = render(script, clips, output=Path("out/lesson.mp4"), width=1280, height=720, fps=30)
        >>> result.info.frames == round(result.timeline[-1].end_s * 30)
        True

    Raises:
        BadInputError: clips that do not match the script, a transition that does not fit, bad settings.
        OutputPathError: `output` cannot be written.
        MediaError: a clip file is missing, ffmpeg failed, or its output is not what was asked for.
    """
    # 1. Check inputs before anything touches the disk.
    timeline = build_timeline(script, clips, fps)
    output = check_output_path(output)
    if output.suffix.lower() in (".vtt", ".srt"):
        raise BadInputError(f"the output {output} must be a video file (.mp4); the captions go beside it")
    missing = [str(c.path) for c in clips if not Path(c.path).is_file()]
    if missing:
        raise MediaError(f"clip file(s) not found: {', '.join(missing)}")
    expected_frames = round(timeline[-1].end_s * fps)

    # 2. Captions from the narration, on the same timeline.
    cues = cues_for(script, timeline)
    captions = output.with_suffix(".vtt")

    # 3. One ffmpeg run into temporary files; both are renamed only once the video checks out.
    with atomic_output(captions) as tmp_captions:
        tmp_captions.write_text(to_webvtt(cues), encoding="utf-8")
        with atomic_output(output, suffix=".mp4") as tmp_video:
            args = build_compose_command(
                list(clips),
                [shot.transition for shot in script.shots],
                width=width,
                height=height,
                fps=fps,
                captions=tmp_captions,
                output=tmp_video,
                preset=preset,
                crf=crf,
                title=script.title,
            )
            run_ffmpeg(args, what=f"composing {output.name} from {len(clips)} clips")
            # 4. Verify what was written, not what was asked for.
            info = probe(tmp_video)
            _check_result(info, frames=expected_frames, width=width, height=height)

    return ComposeResult(
        video=output,
        captions=captions,
        timeline=timeline,
        cues=cues,
        info=info.model_copy(update={"path": output}),
    )
