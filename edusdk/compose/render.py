"""Compose a lesson: clips → timeline → captions → ffmpeg → a verified MP4 with WebVTT and SRT sidecars.

The video is made by smart rendering (only the transition windows encoded, the rest stream-copied,
see `smart.py`) when the clips allow it, else by one full re-encode; `ComposeResult.method` says which
ran and `note` why. All files appear whole or not at all: they are written to temporary paths and
renamed only after the probed video has exactly the frames the timeline promised and a subtitle track.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edusdk._errors import BadInputError, MediaError
from edusdk._fs import atomic_output, check_output_path
from edusdk._media import probe, run_ffmpeg
from edusdk.compose.audio import TARGET_LUFS, AudioPlan, add_sound_track
from edusdk.compose.burn import to_ass
from edusdk.compose.captions import cues_for, to_srt, to_webvtt
from edusdk.compose.extras import poster_time, write_poster, write_sprite
from edusdk.compose.graph import DEFAULT_CRF, DEFAULT_PRESET, Join, build_compose_command
from edusdk.compose.hls import remove_hls, write_hls
from edusdk.compose.quality import (
    InlineQuality,
    QualityFinding,
    QualityReport,
    QualityThresholds,
    check_quality,
    in_shots,
    static_spans,
)
from edusdk.compose.renditions import REFRAMES, Reframe, Rendition, parse_rendition, render_renditions
from edusdk.compose.smart import SmartOutcome, smart_render
from edusdk.compose.timeline import Bridge, build_timeline, join_plan, lesson_frames, shot_lanes, transition_frames
from edusdk.models.audio import AudioReport, NarrationClip
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
    poster: Path | None = None
    sprite: Path | None = None
    thumbs: Path | None = None  # the WebVTT thumbnails track pointing into `sprite`
    renditions: list[Rendition] = Field(default_factory=list)
    quality: QualityReport | None = None  # black / frozen stretches found in the final video
    audio: AudioReport | None = None  # the sound track: narrator, speech windows, music, loudness (audio.py)
    hls: Path | None = None  # the `<stem>.hls/` directory (master.m3u8 + one stream per video), see hls.py
    bridges: list[dict[str, object]] = Field(default_factory=list)  # each `bridge` transition: generated or fallback

    def extra_files(self) -> list[Path]:
        """The poster, sprite, thumbnails track, renditions and HLS directory written beside the video (to clean
        up on failure; `hls` is a directory)."""
        paths = [self.poster, self.sprite, self.thumbs, *(r.path for r in self.renditions), self.hls]
        return [p for p in paths if p is not None]

    def manifest_entry(self) -> dict[str, object]:
        """What the lesson manifest records about the composition."""
        entry: dict[str, object] = {
            "method": self.method,
            "note": self.note,
            "copied_frames": self.copied_frames,
            "frames": self.info.frames,
        }
        for key, path in (("poster", self.poster), ("sprite", self.sprite), ("thumbs", self.thumbs)):
            if path is not None:
                entry[key] = str(path)
        if self.quality is not None:
            entry["quality"] = self.quality.as_dict()
        if self.audio is not None:
            entry["audio"] = self.audio.model_dump(mode="json")
        if self.renditions:
            entry["renditions"] = [
                {"name": r.name, "width": r.width, "height": r.height, "path": str(r.path), "reframe": r.reframe}
                for r in self.renditions
            ]
        if self.bridges:
            entry["bridges"] = self.bridges
        if self.hls is not None:
            entry["hls"] = str(self.hls)
            entry["hls_master"] = str(self.hls / "master.m3u8")
        return entry


def _check_result(info: VideoInfo, *, frames: int, width: int, height: int, audio: bool = False) -> None:
    problems = []
    if info.audio_tracks != int(audio):
        problems.append(f"{info.audio_tracks} audio tracks instead of {int(audio)}")
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
    burn_captions: bool = False,
    extras: bool = False,
    renditions: Sequence[str] = (),
    reframe: Reframe = "blur",
    quality_checks: bool = True,
    thresholds: QualityThresholds | None = None,
    hls: bool = False,
    bridges: Sequence[Bridge] = (),
    narration: Sequence[NarrationClip | None] | None = None,
    music: Path | None = None,
    target_lufs: float = TARGET_LUFS,
    clip_audio: Sequence[Path | None] | None = None,
) -> ComposeResult:
    """Join `clips` (one per shot, in order) with the script's transitions into `output` (an MP4).

    The captions are written beside it as `<stem>.vtt` and `<stem>.srt` and muxed in as a soft subtitle
    track. With `smart` (the default) clips that share the final encode's codec parameters are only
    re-encoded around transitions; `smart=False` forces the full re-encode. The frames are the same.
    `cues` replaces the captions made from the narration (e.g. a caption file the user brought).
    `burn_captions` also draws the captions onto the frames (styled for the frame size, see `burn.py`);
    that changes every frame, so it always takes the full re-encode path. `extras` also writes a poster
    (`<stem>.poster.jpg`) and a thumbnail sprite (`<stem>.sprite.jpg` + `<stem>.thumbs.vtt`), see `extras.py`.
    `renditions` (e.g. `["720p", "9:16", "1:1"]`) writes `<stem>.<name>.mp4` too, reframed by `reframe`
    (`blur` pad or centre `crop`) where the aspect ratio changes, see `renditions.py`. `quality_checks`
    (on by default) runs blackdetect/freezedetect inside the renders (the smart path screens the copied clips
    by their keyframes) and reports stretches longer than `thresholds` (or the script's `max_black_s` /
    `max_freeze_s` variables), see `quality.py`.
    `hls` also writes `<stem>.hls/` (fMP4 segments per video + `master.m3u8` listing the video and its
    renditions), stream-copied from the checked MP4s, see `hls.py`.
    `bridges` are the generated clips for the script's `bridge` transitions (see `edusdk._bridges`), shown
    between the shots with cuts; a `bridge` without one uses its fallback xfade. `ComposeResult.bridges` says which.
    `narration` (one clip or None per shot, see `edusdk.narration`) and `music` (a file looped under it and
    ducked while the narration speaks) make the sound track, normalised to `target_lufs` (two-pass EBU R128)
    and muxed in; the captions then follow the speech. `clip_audio` instead keeps each clip's own sound (a
    file with an audio track, or None), crossfaded across the transitions like the pictures (footage). With
    none of these the video is silent. See `audio.py`.

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
    timeline = build_timeline(script, clips, fps, bridges)
    plan = join_plan(script, clips, bridges)  # bridge clips inserted; bridges not made → their fallback xfade
    output = check_output_path(output)
    if output.suffix.lower() in (".vtt", ".srt"):
        raise BadInputError(f"the output {output} must be a video file (.mp4); the captions go beside it")
    missing = [str(c.path) for c in plan.clips if not Path(c.path).is_file()]
    if missing:
        raise MediaError(f"clip file(s) not found: {', '.join(missing)}")
    expected_frames = round(timeline[-1].end_s * fps)
    for spec in renditions:  # bad names fail before any work
        parse_rendition(spec, width=width, height=height)
    limits = QualityThresholds.for_script(script, thresholds) if quality_checks else None
    if reframe not in REFRAMES:
        raise BadInputError(f"unknown reframe {reframe!r}; valid: {', '.join(REFRAMES)}")
    sound = None
    if clip_audio is not None and narration is not None:
        raise BadInputError("give either narration or the clips' own audio, not both")
    if clip_audio is not None:
        sound = AudioPlan.for_clips(*shot_lanes(plan, fps), clip_audio, fps=fps, music=music, target_lufs=target_lufs)
    elif narration is not None or music is not None:
        sound = AudioPlan.for_lesson(timeline, *shot_lanes(plan, fps), narration or [None] * len(clips), fps=fps,
                                     music=music, target_lufs=target_lufs)  # fmt: skip

    # 2. Captions from the narration, on the same timeline.
    duration = expected_frames / fps
    if cues is None:
        cues = cues_for(script, timeline, speech=sound.speech_windows() if sound else None)
    else:  # the user's cues, clipped to the video
        cues = [c.model_copy(update={"end_s": min(c.end_s, duration)}) for c in cues if c.start_s < duration]
    captions, srt = output.with_suffix(".vtt"), output.with_suffix(".srt")
    transitions = plan.transitions

    # 3. ffmpeg into temporary files; all are renamed only once the video checks out.
    with atomic_output(captions) as tmp_captions, atomic_output(srt) as tmp_srt:
        tmp_captions.write_text(to_webvtt(cues), encoding="utf-8")
        tmp_srt.write_text(to_srt(cues), encoding="utf-8")
        with atomic_output(output, suffix=".mp4") as tmp_video, tempfile.TemporaryDirectory() as work:
            # With renditions, captions are burned at each frame size in the pass that writes them all.
            per_size = burn_captions and bool(renditions)
            burn_now = burn_captions and not per_size
            composed = Path(work) / "master.mp4" if per_size else tmp_video
            ass = Path(work) / "captions.ass"  # a working file for libass, never an output
            if burn_now:
                ass.write_text(to_ass(cues, width, height), encoding="utf-8")
            # the detectors run inside the ffmpeg runs that make the video: the check decodes nothing again
            inline = None if limits is None else InlineQuality(Path(work), fps=fps, frames=expected_frames,
                                                               thresholds=limits)  # fmt: skip
            args = build_compose_command(  # also validates the settings before the smart path runs
                list(plan.clips), transitions, width=width, height=height, fps=fps, captions=tmp_captions,
                output=composed, preset=preset, crf=crf, title=script.title, burn=ass if burn_now else None,
                windowed=True, detect=inline,
            )  # fmt: skip
            outcome = SmartOutcome(False, "smart rendering was turned off")
            if burn_now:  # every frame changes, so no packet can be copied from the clips
                outcome = SmartOutcome(False, "burned-in captions change every frame: full re-encode")
            elif smart:
                outcome = smart_render(
                    [Path(c.path) for c in plan.clips],
                    [lesson_frames(c.num_frames, c.fps, fps) for c in plan.clips],
                    [Join(t.name, transition_frames(t, fps)) for t in transitions[: len(plan.clips) - 1]],
                    width=width, height=height, fps=fps, captions=tmp_captions, output=composed,
                    preset=preset, crf=crf, title=script.title, inline=inline,
                )  # fmt: skip
            if not outcome.ok:
                run_ffmpeg(args, what=f"composing {output.name} from {len(clips)} clips")
            audio: AudioReport | None = None
            audio_findings: list[QualityFinding] = []
            if sound is not None:  # beside the video, whichever way it was made; muxed in by stream copy
                with_sound = Path(work) / "with-sound.mp4"
                audio, audio_findings = add_sound_track(composed, sound, output=with_sound, check=quality_checks)
                os.replace(with_sound, composed)
            versions: list[Rendition] = []
            if per_size:
                _check_result(
                    probe(composed), frames=expected_frames, width=width, height=height, audio=sound is not None
                )
                versions = render_renditions(composed, renditions, width=width, height=height, frames=expected_frames,
                                             output=output, reframe=reframe, preset=preset, crf=crf, burn_cues=cues,
                                             master_copy=tmp_video)  # fmt: skip
                how = "smart" if outcome.ok else "full"
                outcome = SmartOutcome(False, f"burned-in captions change every frame: composed ({how}), then burned "
                                              f"at each size while writing {len(versions)} rendition(s)")  # fmt: skip
            made: dict[str, Path] = {}
            hls_dir: Path | None = None
            try:
                # 4. Verify what was written, not what was asked for.
                info = probe(tmp_video)
                _check_result(info, frames=expected_frames, width=width, height=height, audio=sound is not None)
                report = None
                if limits is not None:
                    report = in_shots(check_quality(tmp_video, duration_s=info.duration_s, thresholds=limits,
                                                    inline=None if per_size else inline),  # per size: burned after
                                      timeline, static=static_spans(script, clips, timeline))  # fmt: skip
                    report = QualityReport(report.thresholds, [*report.findings, *audio_findings])
                if not per_size:
                    versions = render_renditions(tmp_video, renditions, width=width, height=height,
                                                 frames=expected_frames, output=output, reframe=reframe,
                                                 preset=preset, crf=crf)  # fmt: skip
                if extras:
                    made = _write_extras(tmp_video, output, script, timeline, info.duration_s, width, height)
                if hls:  # from the checked MP4s, stream-copied; the directory appears whole or not at all
                    streams = [(r.name, r.path) for r in versions if r.path]
                    hls_dir = write_hls(tmp_video, output.with_name(f"{output.stem}.hls"), renditions=streams).directory
            except BaseException:
                for path in made.values():
                    path.unlink(missing_ok=True)
                remove_hls(hls_dir)
                for version in versions:
                    if version.path is not None:
                        version.path.unlink(missing_ok=True)
                raise

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
        renditions=versions,
        quality=report,
        hls=hls_dir,
        bridges=plan.notes,
        audio=audio,
        **made,
    )


def _write_extras(video: Path, output: Path, script: Script, timeline: list[TimelineEntry], duration_s: float,
                  width: int, height: int) -> dict[str, Path]:  # fmt: skip
    """Poster and sprite from the checked (still temporary) video; all of them or none are left on failure."""
    poster = output.with_name(f"{output.stem}.poster.jpg")
    made: dict[str, Path] = {}
    try:
        made["poster"] = write_poster(video, poster, at_s=poster_time(script, timeline))
        sprite = write_sprite(video, duration_s=duration_s, width=width, height=height,
                              image=output.with_name(f"{output.stem}.sprite.jpg"))  # fmt: skip
        made["sprite"], made["thumbs"] = sprite.image, sprite.vtt
    except BaseException:
        for path in made.values():
            path.unlink(missing_ok=True)
        raise
    return made
