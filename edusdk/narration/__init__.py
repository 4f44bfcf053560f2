"""Narration: shot text → speech (a pluggable `Narrator`), and shots fitted to the speech.

Narrators: `PiperNarrator` (offline neural voices; the `narration` extra ships one), `FilesNarrator` (the
user's recordings, per shot). `get_narrator` turns a name into one:

* "auto" — Piper with the bundled voice when the `narration` extra is installed, else no narration;
* "piper" — Piper, or an error saying which extra to install; a path to a `.onnx` voice — that Piper voice;
* "none" — silent lessons.

Example:
    >>> narrator = get_narrator("auto")
    >>> clips = narrate_script(narrator, script, Path(workdir))
    >>> script = fit_to_narration(script, clips, fps=30)
"""

from __future__ import annotations

import os
from pathlib import Path

from edusdk._errors import BadInputError
from edusdk.narration.base import LEAD_S, TAIL_S, Narrator, audio_duration, needed_duration
from edusdk.narration.files import FilesNarrator
from edusdk.narration.piper import PiperNarrator, piper_available
from edusdk.narration.speak import fit_to_narration, narrate_script

NARRATOR_NAMES = ("auto", "piper", "none")

__all__ = [
    "LEAD_S",
    "NARRATOR_NAMES",
    "TAIL_S",
    "FilesNarrator",
    "Narrator",
    "PiperNarrator",
    "audio_duration",
    "default_narrator",
    "fit_to_narration",
    "get_narrator",
    "narrate_script",
    "needed_duration",
    "piper_available",
]


def default_narrator() -> str:
    """The narrator name used when none is given: `$EDUSDK_NARRATOR`, else "auto"."""
    return os.environ.get("EDUSDK_NARRATOR") or "auto"


def get_narrator(spec: str | Path | Narrator | None) -> Narrator | None:
    """The narrator for `spec` (see the module docstring); None means no narration.

    Raises:
        BadInputError: an unknown name, a voice file that does not exist, or "piper" without the extra.
    """
    if spec is None:
        return None
    if not isinstance(spec, str | Path):
        return spec
    text = str(spec)
    if text == "none":
        return None
    if text == "auto":
        return PiperNarrator() if piper_available() else None
    if text == "piper":
        return PiperNarrator()
    if text.endswith(".onnx"):
        return PiperNarrator(text)
    raise BadInputError(f"unknown narrator {text!r}; valid: {', '.join(NARRATOR_NAMES)} or a Piper voice .onnx file")
