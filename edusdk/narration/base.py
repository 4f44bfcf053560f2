"""The `Narrator` protocol and what the pipeline does with one: speak every shot, then fit the shots to it.

A narrator turns text into a WAV file. `narrate_script` asks it for every shot that has narration (through
an on-disk cache keyed by the narrator's `cache_id` and the text, so a re-render speaks nothing twice) and
returns one `NarrationClip` per shot (None for a silent shot). `fit_to_narration` then lengthens every shot
whose narration would not fit inside it: the narration is placed `LEAD_S` after the shot's start (the middle
of its incoming transition) and must end `TAIL_S` before the middle of its outgoing one.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import subprocess
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from edusdk._errors import BadInputError, MediaError
from edusdk._fs import atomic_output
from edusdk._media import ffmpeg_exe
from edusdk.models.audio import NarrationClip
from edusdk.models.script import Script

LEAD_S = 0.25  # silence between a shot's start and its narration
TAIL_S = 0.35  # silence between the narration's end and the shot's end
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus")


@runtime_checkable
class Narrator(Protocol):
    """Text → speech. `synthesize` writes a WAV file of `text` spoken in `language` to `output`.

    `name` identifies the voice in manifests ("piper:en_US-joe-medium"); `languages` are the languages it
    speaks (ISO 639-1, e.g. ("en",)); `cache_id` is None when its output must not be cached, else a string
    that changes whenever the same text would sound different (voice, speed, model version).

    Example:
        >>> class Beeper:                     # any object with these four members is a Narrator
        ...     name, languages, cache_id = "beeper", ("en",), None
        ...     def synthesize(self, text: str, output: Path, *, language: str = "en") -> Path: ...
    """

    name: str
    languages: tuple[str, ...]

    @property
    def cache_id(self) -> str | None: ...

    def synthesize(self, text: str, output: Path, *, language: str = "en") -> Path: ...


def default_cache_dir() -> Path:
    """`$EDUSDK_CACHE_DIR/narration`, else `~/.cache/edusdk/narration`."""
    env = os.environ.get("EDUSDK_CACHE_DIR")
    return (Path(env) if env else Path.home() / ".cache" / "edusdk") / "narration"


def audio_duration(path: Path) -> float:
    """Seconds of audio in `path`: read from the header of a PCM WAV, else decoded by ffmpeg.

    Raises:
        MediaError: the file holds no readable audio.
    """
    try:
        with wave.open(str(path), "rb") as wav:
            rate, frames = wav.getframerate(), wav.getnframes()
            if rate > 0 and frames > 0:
                return frames / rate
    except (wave.Error, EOFError):
        pass  # not a PCM WAV: let ffmpeg decode it
    except OSError as exc:
        raise MediaError(f"cannot read audio file {path}: {exc}") from None
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0", "-f", "null", "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    times = [part.split()[0] for part in proc.stderr.split("time=")[1:]]
    seconds = [_clock(t) for t in times if t[:1].isdigit()]
    if proc.returncode != 0 or not seconds or seconds[-1] <= 0:
        raise MediaError(f"{path} holds no readable audio: {proc.stderr[-600:].strip()}")
    return seconds[-1]


def _clock(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


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
    from edusdk.narration.files import FilesNarrator  # here: files.py builds on this module

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


def needed_duration(narration_s: float, t_in_s: float, t_out_s: float) -> float:
    """The shortest shot that holds `narration_s` of speech between transitions of these lengths.

    Example:
        >>> round(needed_duration(4.0, 0.5, 0.5), 2)   # 0.25 in + 0.25 lead + 4 + 0.35 tail + 0.25 out
        5.1
    """
    return t_in_s / 2 + LEAD_S + narration_s + TAIL_S + t_out_s / 2


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
