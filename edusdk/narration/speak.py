"""Narration for a script: speak every shot (through the cache), then fit the shots to the speech.

`narrate_script` asks the narrator for every shot that has narration (a FilesNarrator's recordings first) and
returns one `NarrationClip` per shot (None for a silent shot). `fit_to_narration` then lengthens every shot
whose narration would not fit inside it (see `needed_duration`).
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from edusdk._errors import BadInputError
from edusdk._fs import atomic_output
from edusdk.models.audio import NarrationClip
from edusdk.models.script import Script
from edusdk.narration.base import Narrator, audio_duration, default_cache_dir, needed_duration
from edusdk.narration.files import FilesNarrator


def narrate_script(
    narrator: Narrator,
    script: Script,
    workdir: Path,
    *,
    cache_dir: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[NarrationClip | None]:
    """Speak every shot's narration with `narrator`; one clip per shot, None where a shot has no narration.

    Clips are written to `workdir`; with a `cache_dir` (default: `default_cache_dir()`) and a narrator
    whose `cache_id` is set, speech already made for the same text and voice is reused.

    A FilesNarrator supplies its shots' audio as recorded, whatever their text; its fallback narrator speaks
    the other shots (without one they stay silent).

    Raises:
        BadInputError: the narrator does not speak the script's language.
        MediaError: the narrator wrote no audio.
    """
    language = script.language.split("-")[0].lower()
    files = narrator if isinstance(narrator, FilesNarrator) else None  # the user's recordings come first
    speaker = files.fallback if files is not None else narrator  # speaks the rest (None: they stay silent)
    cache = (cache_dir or default_cache_dir()) if speaker is not None and speaker.cache_id else None
    clips: list[NarrationClip | None] = []
    for i, shot in enumerate(script.shots):
        if on_progress is not None:
            on_progress(i, len(script.shots))
        recorded = files.recording(shot.id) if files is not None else None
        if recorded is not None:
            clips.append(NarrationClip(shot_id=shot.id, path=recorded, duration_s=audio_duration(recorded),
                                       source="file"))  # fmt: skip
            continue
        text = " ".join(shot.narration.split())
        if not text or speaker is None:
            clips.append(None)
            continue
        if speaker.languages and language not in speaker.languages:
            raise BadInputError(
                f"narrator {speaker.name!r} speaks {', '.join(speaker.languages)}, not the script's language "
                f"{script.language!r}; pick another narrator or render without narration"
            )
        target = workdir / f"{i:03d}-{shot.id}.wav"
        key = hashlib.sha256(f"{speaker.cache_id}\0{language}\0{text}".encode()).hexdigest()
        cached = cache / key[:2] / f"{key}.wav" if cache else None
        if cached is not None and cached.is_file():
            shutil.copyfile(cached, target)
        else:
            made = speaker.synthesize(text, target, language=language)
            if made != target:
                shutil.copyfile(made, target)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                with atomic_output(cached, suffix=".wav") as tmp:
                    shutil.copyfile(target, tmp)
        clips.append(NarrationClip(shot_id=shot.id, path=target, duration_s=audio_duration(target),
                                   source=speaker.name))  # fmt: skip
    return clips


def fit_to_narration(script: Script, narration: Sequence[NarrationClip | None], fps: int) -> Script:
    """`script` with every shot long enough for its narration (shots only grow; frame-rounded up).

    Example:
        >>> fitted = fit_to_narration(script, clips, fps=30)
        >>> [s.duration_s for s in fitted.shots]          # shot 2 grew to hold 9.4 s of speech
        [7.5, 10.4, 8.0]

    Raises:
        BadInputError: one clip per shot was not given, or a shot would grow past the 120 s a shot may last.
    """
    shots = script.shots
    if len(narration) != len(shots):
        raise BadInputError(f"the script has {len(shots)} shots but {len(narration)} narration clips were given")
    fitted = []
    for i, (shot, clip) in enumerate(zip(shots, narration, strict=True)):
        if clip is None:
            fitted.append(shot)
            continue
        if clip.shot_id != shot.id:
            raise BadInputError(f"narration clip {i} is for shot {clip.shot_id!r} but shot {i} is {shot.id!r}")
        t_in = shots[i - 1].transition.duration_s if i > 0 and shots[i - 1].transition.name != "cut" else 0.0
        t_out = shot.transition.duration_s if i < len(shots) - 1 and shot.transition.name != "cut" else 0.0
        need = math.ceil(needed_duration(clip.duration_s, t_in, t_out) * fps - 1e-6) / fps
        if need > 120:
            raise BadInputError(f"shot {shot.id!r}: its narration lasts {clip.duration_s:.1f} s, longer than a "
                                "shot may be (120 s); split the section")  # fmt: skip
        fitted.append(shot.model_copy(update={"duration_s": need}) if need > shot.duration_s else shot)
    return script.model_copy(update={"shots": fitted})
