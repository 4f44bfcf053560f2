"""The `Narrator` protocol, and what every narrator shares: audio durations, the speech cache, the timing rule.

A narrator turns text into a WAV file (see `speak.narrate_script` for a whole script). A shot's narration is
placed `LEAD_S` after the shot's start (the middle of its incoming transition) and must end `TAIL_S` before
the middle of its outgoing one; `needed_duration` says how long a shot must be for that.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path
from typing import Protocol, runtime_checkable

from edusdk._errors import MediaError
from edusdk._media import audio_seconds

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
    """Seconds of audio in `path`: read from the header of a PCM WAV, else measured by ffmpeg (`audio_seconds`).

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
    return audio_seconds(path)


def needed_duration(narration_s: float, t_in_s: float, t_out_s: float) -> float:
    """The shortest shot that holds `narration_s` of speech between transitions of these lengths.

    Example:
        >>> round(needed_duration(4.0, 0.5, 0.5), 2)   # 0.25 in + 0.25 lead + 4 + 0.35 tail + 0.25 out
        5.1
    """
    return t_in_s / 2 + LEAD_S + narration_s + TAIL_S + t_out_s / 2
