"""Where every shot sits in the composed video, computed from frame counts (pure functions, no I/O).

Clips are joined in order; the transition of shot i (into shot i+1) overlaps the end of clip i with
the start of clip i+1 by t_i frames, so clip i+1 becomes visible at frame S_{i+1} = S_i + n_i - t_i and
the video has sum(n_i) - sum(t_i) frames. Working in integer frames keeps the timeline, the ffmpeg
graph and the probed result in exact agreement.
"""

from __future__ import annotations

from collections.abc import Sequence

from edusdk._errors import BadInputError
from edusdk.models.engine import Clip
from edusdk.models.lesson import TimelineEntry
from edusdk.models.script import Script, Transition


def lesson_frames(num_frames: int, clip_fps: float, fps: int) -> int:
    """How many frames a clip of `num_frames` at `clip_fps` contributes at the lesson's `fps`."""
    if clip_fps == fps:
        return num_frames
    return max(1, round(num_frames * fps / clip_fps))


def transition_frames(transition: Transition, fps: int) -> int:
    """Frames a transition lasts at `fps`: 0 for a cut, at least one frame for any named transition."""
    if transition.name == "cut":
        return 0
    return max(1, round(transition.duration_s * fps))


def check_joins(frames: Sequence[int], joins: Sequence[int], labels: Sequence[str]) -> None:
    """Raise BadInputError unless every transition is shorter than both clips it joins.

    `frames[i]` is clip i's length, `joins[i]` the transition between clip i and i+1 (both in frames),
    `labels[i]` names clip i in the error.
    """
    if any(n < 1 for n in frames):
        bad = next(label for label, n in zip(labels, frames, strict=True) if n < 1)
        raise BadInputError(f"clip for shot {bad!r} has no frames")
    for i, t in enumerate(joins[: len(frames) - 1]):
        if t >= frames[i] or t >= frames[i + 1]:
            raise BadInputError(
                f"the transition out of shot {labels[i]!r} lasts {t} frames but the clips it joins have "
                f"{frames[i]} and {frames[i + 1]} frames; shorten the transition or lengthen the shots",
            )


def visible_starts(frames: Sequence[int], joins: Sequence[int]) -> list[int]:
    """First frame (in the composed video) where each clip is on screen, overlaps included."""
    starts = [0]
    for i in range(1, len(frames)):
        starts.append(starts[-1] + frames[i - 1] - joins[i - 1])
    return starts


def total_frames(frames: Sequence[int], joins: Sequence[int]) -> int:
    """Frames in the composed video: all clip frames minus the overlaps (the last join is ignored)."""
    return sum(frames) - sum(joins[: len(frames) - 1])


def build_timeline(script: Script, clips: Sequence[Clip], fps: int) -> list[TimelineEntry]:
    """The shot timeline of the composed video, from the clips' real frame counts.

    `visible_start_s`/`visible_end_s` say where a clip is on screen (transition overlaps included);
    `start_s`/`end_s` partition [0, duration] with a boundary in the middle of each transition.

    Raises:
        BadInputError: clips and shots differ in number or order, or a transition does not fit.
    """
    if fps < 1:
        raise BadInputError(f"fps must be a positive integer, not {fps}")
    shots = script.shots
    if len(clips) != len(shots):
        raise BadInputError(f"the script has {len(shots)} shots but {len(clips)} clips were given")
    for i, (shot, clip) in enumerate(zip(shots, clips, strict=True)):
        if clip.shot_id != shot.id:
            raise BadInputError(f"clip {i} is for shot {clip.shot_id!r} but shot {i} is {shot.id!r}")
    frames = [lesson_frames(c.num_frames, c.fps, fps) for c in clips]
    joins = [transition_frames(s.transition, fps) for s in shots[:-1]]
    check_joins(frames, joins, [s.id for s in shots])

    starts = visible_starts(frames, joins)
    total = total_frames(frames, joins)
    # Boundaries in half-frames so the middle of an odd-length transition is exact; shot i ends where i+1 starts.
    bounds = [0.0] + [(2 * starts[i + 1] + joins[i]) / (2 * fps) for i in range(len(joins))] + [total / fps]
    last = len(shots) - 1
    return [
        TimelineEntry(
            index=i,
            shot_id=shot.id,
            start_s=bounds[i],
            end_s=bounds[i + 1],
            visible_start_s=starts[i] / fps,
            visible_end_s=(starts[i] + frames[i]) / fps,
            transition_out=shot.transition.name if i < last else "cut",
            prompt=shot.prompt,
            narration=shot.narration,
            variables=dict(shot.variables),
        )
        for i, shot in enumerate(shots)
    ]
