"""Compose a lesson: clips → timeline → captions → ffmpeg → a verified MP4 with WebVTT and SRT sidecars.

The video is made by smart rendering (only the transition windows encoded, the rest stream-copied,
see `smart.py`) when the clips allow it, else by one full re-encode; `ComposeResult.method` says which
ran and `note` why. All files appear whole or not at all: they are written to temporary paths and
renamed only after the probed video has exactly the frames the timeline promised and a subtitle track.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from edusdk._errors import BadInputError, MediaError
from edusdk._fs import atomic_output, check_output_path
from edusdk._media import probe, run_ffmpeg
from edusdk.compose.captions import cues_for, to_srt, to_webvtt
from edusdk.compose.graph import DEFAULT_CRF, DEFAULT_PRESET, Join, build_compose_command
from edusdk.compose.smart import SmartOutcome, smart_render
from edusdk.compose.timeline import build_timeline, lesson_frames, transition_frames
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
    srt: Path | None = None
    method: Literal["smart", "full"] = "full"
    note: str = ""  # why the full path ran, or how many frames the smart path copied
    copied_frames: int = 0

    def manifest_entry(self) -> dict[str, object]:
        """What the lesson manifest records about the composition."""
        return {"method": self.method, "note": self.note, "copied_frames": self.copied_frames,
                "frames": self.info.frames}  # fmt: skip


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
    smart: bool = True,
    cues: Sequence[CaptionCue] | None = None,
) -> ComposeResult:
    """Join `clips` (one per shot, in order) with the script's transitions into `output` (an MP4).

    The captions are written beside it as `<stem>.vtt` and `<stem>.srt` and muxed in as a soft subtitle
    track. With `smart` (the default) clips that share the final encode's codec parameters are only
    re-encoded around transitions; `smart=False` forces the full re-encode. The frames are the same.
    `cues` replaces the captions made from the narration (e.g. a caption file the user brought).

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
    duration = expected_frames / fps
    if cues is None:
        cues = cues_for(script, timeline)
    else:  # the user's cues, clipped to the video
        cues = [c.model_copy(update={"end_s": min(c.end_s, duration)}) for c in cues if c.start_s < duration]
    captions, srt = output.with_suffix(".vtt"), output.with_suffix(".srt")
    transitions = [shot.transition for shot in script.shots]

    # 3. ffmpeg into temporary files; all are renamed only once the video checks out.
    with atomic_output(captions) as tmp_captions, atomic_output(srt) as tmp_srt:
        tmp_captions.write_text(to_webvtt(cues), encoding="utf-8")
        tmp_srt.write_text(to_srt(cues), encoding="utf-8")
        with atomic_output(output, suffix=".mp4") as tmp_video:
            args = build_compose_command(  # also validates the settings before the smart path runs
                list(clips), transitions, width=width, height=height, fps=fps, captions=tmp_captions,
                output=tmp_video, preset=preset, crf=crf, title=script.title,
            )  # fmt: skip
            outcome = SmartOutcome(False, "smart rendering was turned off")
            if smart:
                outcome = smart_render(
                    [Path(c.path) for c in clips],
                    [lesson_frames(c.num_frames, c.fps, fps) for c in clips],
                    [Join(t.name, transition_frames(t, fps)) for t in transitions[: len(clips) - 1]],
                    width=width, height=height, fps=fps, captions=tmp_captions, output=tmp_video,
                    preset=preset, crf=crf, title=script.title,
                )  # fmt: skip
            if not outcome.ok:
                run_ffmpeg(args, what=f"composing {output.name} from {len(clips)} clips")
            # 4. Verify what was written, not what was asked for.
            info = probe(tmp_video)
            _check_result(info, frames=expected_frames, width=width, height=height)

    note = (f"copied {outcome.copied_frames} of {expected_frames} frames, encoded {outcome.encoded_frames}"
            if outcome.ok else outcome.reason)  # fmt: skip
    return ComposeResult(
        video=output,
        captions=captions,
        srt=srt,
        timeline=timeline,
        cues=list(cues),
        info=info.model_copy(update={"path": output}),
        method="smart" if outcome.ok else "full",
        note=note,
        copied_frames=outcome.copied_frames,
    )
