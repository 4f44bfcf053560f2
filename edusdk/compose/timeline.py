"""Where every shot sits in the composed video, computed from frame counts (pure functions, no I/O).

Clips are joined in order; the transition of shot i (into shot i+1) overlaps the end of clip i with
the start of clip i+1 by t_i frames, so clip i+1 becomes visible at frame S_{i+1} = S_i + n_i - t_i and
the video has sum(n_i) - sum(t_i) frames. Working in integer frames keeps the timeline, the ffmpeg
graph and the probed result in exact agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from edusdk._errors import BadInputError
from edusdk.models.engine import Clip
from edusdk.models.lesson import TimelineEntry
from edusdk.models.script import BRIDGE, Script, Transition


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


@dataclass(frozen=True)
class Bridge:
    """What became of shot `after`'s `bridge` transition: a generated `clip` shown between it and the next shot
    (joined to both by cuts), or None when the transition's fallback xfade is used instead (`note` says why)."""

    after: int
    clip: Clip | None
    note: str = ""


_CUT = Transition()


@dataclass(frozen=True)
class JoinPlan:
    """The clips in play order (bridge clips inserted) and the transition after each (the last one unused).

    `positions[i]` is where shot i's clip sits in `clips`; `notes` lists what happened to each bridge.
    """

    clips: list[Clip]
    transitions: list[Transition]
    positions: list[int]
    notes: list[dict[str, object]] = field(default_factory=list)


def join_plan(script: Script, clips: Sequence[Clip], bridges: Sequence[Bridge] = ()) -> JoinPlan:
    """Resolve the script's `bridge` transitions: a generated clip between cuts, or the declared fallback xfade.

    A `bridge` transition with no `Bridge` (or one without a clip) falls back to its `fallback` xfade of the
    same duration. Pure: no I/O.

    Example:
        >>> plan = join_plan(script, clips, [Bridge(0, bridge_clip)])   # shot 0 → bridge → shot 1
        >>> [c.shot_id for c in plan.clips], [t.name for t in plan.transitions][:2], plan.positions
        (['s01', 's01-bridge', 's02'], ['cut', 'cut'], [0, 2])

    Raises:
        BadInputError: a Bridge for a shot whose transition is not `bridge`, for the last shot, or twice.
    """
    shots = script.shots
    by_shot: dict[int, Bridge] = {}
    for bridge in bridges:
        if not 0 <= bridge.after < len(shots) - 1 or shots[bridge.after].transition.name != BRIDGE:
            raise BadInputError(f"a bridge after shot {bridge.after} matches no 'bridge' transition of the script")
        if bridge.after in by_shot:
            raise BadInputError(f"two bridges after shot {bridge.after}")
        by_shot[bridge.after] = bridge
    plan = JoinPlan([], [], [])
    for i, (shot, clip) in enumerate(zip(shots, clips, strict=False)):
        plan.positions.append(len(plan.clips))
        plan.clips.append(clip)
        t = shot.transition
        if t.name != BRIDGE or i == len(shots) - 1:
            plan.transitions.append(t)
            continue
        made = by_shot.get(i)
        note = made.note if made is not None else "no bridge clip was given to compose"
        if made is not None and made.clip is not None:
            plan.transitions.extend([_CUT, _CUT])
            plan.clips.append(made.clip)
            plan.notes.append({"after": shot.id, "method": "generated", "frames": made.clip.num_frames, "note": note})
        else:
            plan.transitions.append(Transition(name=t.fallback, duration_s=t.duration_s))
            plan.notes.append({"after": shot.id, "method": "fallback", "transition": t.fallback, "note": note})
    return plan


def build_timeline(
    script: Script, clips: Sequence[Clip], fps: int, bridges: Sequence[Bridge] = ()
) -> list[TimelineEntry]:
    """The shot timeline of the composed video, from the clips' real frame counts.

    `visible_start_s`/`visible_end_s` say where a clip is on screen (transition overlaps included);
    `start_s`/`end_s` partition [0, duration] with a boundary in the middle of each transition. A generated
    bridge (see `join_plan`) adds its frames between two shots; their boundary is in the middle of it.

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
    plan = join_plan(script, clips, bridges)
    frames = [lesson_frames(c.num_frames, c.fps, fps) for c in plan.clips]
    joins = [transition_frames(t, fps) for t in plan.transitions[:-1]]
    check_joins(frames, joins, [c.shot_id for c in plan.clips])

    starts = visible_starts(frames, joins)
    total = total_frames(frames, joins)
    # Boundaries in half-frames so the middle of an odd-length transition is exact; shot i ends where i+1 starts.
    # Between a shot and a bridge clip the join is a cut, so the middle of the bridge is starts + frames / 2.
    at = plan.positions
    middles = [2 * starts[at[i] + 1] + (frames[at[i] + 1] if at[i + 1] == at[i] + 2 else joins[at[i]])
               for i in range(len(shots) - 1)]  # fmt: skip
    bounds = [0.0] + [m / (2 * fps) for m in middles] + [total / fps]
    last = len(shots) - 1
    return [
        TimelineEntry(
            index=i,
            shot_id=shot.id,
            start_s=bounds[i],
            end_s=bounds[i + 1],
            visible_start_s=starts[at[i]] / fps,
            visible_end_s=(starts[at[i]] + frames[at[i]]) / fps,
            transition_out=_shown(shot.transition, at, i) if i < last else "cut",
            prompt=shot.prompt,
            narration=shot.narration,
            variables=dict(shot.variables),
        )
        for i, shot in enumerate(shots)
    ]


def _shown(transition: Transition, positions: Sequence[int], i: int) -> str:
    """The transition shot i hands over with: `bridge` when a bridge clip was inserted, else its (fallback) xfade."""
    if transition.name != BRIDGE:
        return transition.name
    return BRIDGE if positions[i + 1] == positions[i] + 2 else transition.fallback


def shot_lanes(plan: JoinPlan, fps: int) -> tuple[list[int], list[int]]:
    """Per shot: its frames (plus a bridge clip's after it) and the frames of its join to the next shot.

    For anything laid out per shot (the sound track's lanes): a bridge belongs to the shot before it and
    is joined to the next by a cut, so the per-shot frames still add up to the video's.
    """
    frames = [lesson_frames(c.num_frames, c.fps, fps) for c in plan.clips]
    at = [*plan.positions, len(plan.clips)]
    lanes = [sum(frames[at[i] : at[i + 1]]) for i in range(len(plan.positions))]
    joins = [transition_frames(plan.transitions[at[i + 1] - 1], fps) for i in range(len(plan.positions) - 1)]
    return lanes, joins
