"""Join footage the user brings (any codec, size or frame rate) with named transitions: `edusdk compose`.

Every file is probed, normalised to the first clip's size and frame rate (or the ones asked for) by the
same graph as a lesson, and joined with `xfade` transitions given as `NAME=SECONDS` (one for every
join, or one per join). Captions come from a WebVTT or SRT file on the output's timeline.

Example:
    >>> result = compose_files(["a.mp4", "b.mov"], ["fade=0.5"], output="out/joined.mp4")
    >>> result.method, result.info.frames
    ('full', 312)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from edusdk._errors import BadInputError, MediaError
from edusdk._media import probe
from edusdk.compose.captions import parse_captions
from edusdk.compose.graph import DEFAULT_CRF, DEFAULT_PRESET
from edusdk.compose.render import ComposeResult, render
from edusdk.compose.renditions import Reframe
from edusdk.models.engine import Clip
from edusdk.models.script import TRANSITION_NAMES, Script, Shot, Transition


def parse_transition(spec: str | Transition) -> Transition:
    """`NAME=SECONDS` (or `cut`) as a Transition; BadInputError listing the valid names otherwise.

    Example:
        >>> parse_transition("wipeleft=1")
        Transition(name='wipeleft', duration_s=1.0)
    """
    if isinstance(spec, Transition):
        return spec
    name, _, seconds = spec.strip().partition("=")
    name = name.strip()
    if name not in TRANSITION_NAMES:
        raise BadInputError(f"unknown transition {name!r} in {spec!r}; valid: {', '.join(TRANSITION_NAMES)}")
    if name == "cut":
        if seconds.strip() not in ("", "0"):
            raise BadInputError(f"transition {spec!r}: a cut has no duration")
        return Transition()
    try:
        duration = float(seconds or "0.5")
    except ValueError:
        raise BadInputError(f"transition {spec!r}: {seconds!r} is not a number of seconds") from None
    if not 0 < duration <= 5 or not math.isfinite(duration):
        raise BadInputError(f"transition {spec!r}: the duration must be within (0, 5] seconds")
    return Transition(name=name, duration_s=duration)


def _transitions(specs: Sequence[str | Transition], joins: int) -> list[Transition]:
    parsed = [parse_transition(s) for s in specs]
    if not parsed:
        return [Transition()] * joins
    if len(parsed) == 1:
        return parsed * joins
    if len(parsed) != joins:
        raise BadInputError(f"{joins + 1} clips have {joins} joins: give one transition for all or {joins}, "
                            f"not {len(parsed)}")  # fmt: skip
    return parsed


def compose_files(
    files: Sequence[str | Path],
    transitions: Sequence[str | Transition] = (),
    *,
    output: str | Path,
    captions: str | Path | None = None,
    size: tuple[int, int] | None = None,
    fps: int | None = None,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
    smart: bool = True,
    title: str = "",
    burn_captions: bool = False,
    extras: bool = False,
    renditions: Sequence[str] = (),
    reframe: Reframe = "blur",
    audio: bool = True,
    music: str | Path | None = None,
) -> ComposeResult:
    """Join video `files` in order into `output` (MP4, H.264) with `transitions` between them.

    `size`/`fps` default to the first clip's (its size rounded down to even numbers, its rate rounded).
    Clips that already share the output's codec parameters are smart-rendered (see `render`).
    `burn_captions` draws the captions onto the frames too (a full re-encode); `extras` adds a poster and a
    thumbnail sprite; `renditions` extra sizes/aspects reframed by `reframe` (see `render`).
    `audio` keeps the clips' own sound (silence for clips without any), crossfaded across the transitions
    like the pictures and normalised to −16 LUFS; `music` lays a ducked bed under it. `audio=False` and no
    music: a silent video.

    Raises:
        BadInputError: no files, an unknown transition (the valid names are listed), a transition longer
            than a clip it joins, a caption file that does not parse.
        MediaError: a file is missing or not a readable video; ffmpeg failed.
    """
    if not files:
        raise BadInputError("nothing to compose: give at least one video file")
    paths = [Path(f).expanduser().absolute() for f in files]
    for path in paths:
        if not path.is_file():
            raise MediaError(f"video file not found: {path}")
    joins = _transitions(transitions, len(paths) - 1)
    infos = [probe(p) for p in paths]
    first = infos[0]
    width, height = size or (first.width - first.width % 2, first.height - first.height % 2)
    rate = fps or max(1, round(first.fps or 30))
    if not 1 <= rate <= 120:
        raise BadInputError(f"fps {rate} must be between 1 and 120")
    cues = None
    if captions is not None:
        caption_path = Path(captions)
        try:
            text = caption_path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInputError(f"cannot read the captions file {caption_path}: {exc}") from None
        cues = parse_captions(text, source=str(caption_path))

    shots = []
    clips = []
    for i, (path, info) in enumerate(zip(paths, infos, strict=True)):
        clip_fps = max(1, round(info.fps or rate))
        shot_id = f"clip-{i + 1:02d}"
        # model_construct: footage may be longer than a generated shot's 120 s limit
        shots.append(Shot.model_construct(
            id=shot_id, section=i, prompt=path.name, negative_prompt="", duration_s=info.frames / clip_fps,
            camera=Shot.model_fields["camera"].get_default(call_default_factory=True),
            transition=joins[i] if i < len(joins) else Transition(), narration="",
            on_screen=Shot.model_fields["on_screen"].get_default(call_default_factory=True), seed=0, mode="video",
            variables={"file": path.name},
        ))  # fmt: skip
        clips.append(Clip(shot_id=shot_id, path=path, width=info.width, height=info.height, fps=clip_fps,
                          num_frames=info.frames, engine="footage", seed=0))  # fmt: skip
    # not validated as a generated script: build_timeline checks that each transition fits its clips
    script = Script.model_construct(
        title=title, subject="", audience="", language="en", aspect="16:9", style="", template="footage",
        outline_hash="", bible="", shots=shots, variables={},
    )  # fmt: skip
    sounds = [p if i.audio_tracks else None for p, i in zip(paths, infos, strict=True)]
    keep = audio and any(sounds)
    return render(script, clips, output=Path(output), width=width, height=height, fps=rate, preset=preset,
                  crf=crf, smart=smart, cues=cues, burn_captions=burn_captions, extras=extras,
                  renditions=renditions, reframe=reframe, clip_audio=sounds if keep else None,
                  music=Path(music).expanduser() if music is not None else None)  # fmt: skip
