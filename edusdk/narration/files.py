"""FilesNarrator: narration the user recorded, one audio file per shot, with another narrator for the rest.

Example:
    >>> narrator = FilesNarrator.from_dir("recordings/", fallback=PiperNarrator())   # s01.wav, s02.mp3, …
    >>> lesson = client.lessons.render(outline, narrator=narrator)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from edusdk._errors import BadInputError, MediaError
from edusdk.narration.base import AUDIO_SUFFIXES, Narrator, audio_duration


class FilesNarrator:
    """Per-shot audio files by shot id; shots without a file are spoken by `fallback` (or stay silent).

    `narrate_shot` is what the pipeline calls; `synthesize` (text only) delegates to the fallback.
    """

    def __init__(self, files: Mapping[str, str | Path], *, fallback: Narrator | None = None) -> None:
        """`files` maps shot ids to audio files (wav, mp3, m4a, aac, flac, ogg, opus).

        Raises:
            BadInputError: a file that does not exist or holds no audio, naming the shot and the file.
        """
        self.files: dict[str, Path] = {}
        for shot_id, raw in files.items():
            path = Path(raw).expanduser()
            if not path.is_file():
                raise BadInputError(f"narration file for shot {shot_id!r} not found: {path}")
            if path.suffix.lower() not in AUDIO_SUFFIXES:
                raise BadInputError(f"narration file for shot {shot_id!r} must be one of "
                                    f"{', '.join(AUDIO_SUFFIXES)}: {path}")  # fmt: skip
            try:
                audio_duration(path)  # fails now, naming the file, rather than mid-render
            except MediaError as exc:
                raise BadInputError(f"narration file for shot {shot_id!r} holds no readable audio: {path}") from exc
            self.files[shot_id] = path
        self.fallback = fallback
        self.name = "files" + (f"+{fallback.name}" if fallback else "")
        self.languages: tuple[str, ...] = fallback.languages if fallback else ()  # recordings: any language

    @classmethod
    def from_dir(cls, folder: str | Path, *, fallback: Narrator | None = None) -> FilesNarrator:
        """Every `<shot_id>.<audio suffix>` file in `folder`.

        Raises:
            BadInputError: `folder` is not a directory, or two files are for the same shot.
        """
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise BadInputError(f"narration folder not found: {root}")
        found: dict[str, Path] = {}
        for path in sorted(root.iterdir()):
            if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
                if path.stem in found:
                    raise BadInputError(f"two narration files for shot {path.stem!r}: {found[path.stem]} and {path}")
                found[path.stem] = path
        return cls(found, fallback=fallback)

    @property
    def cache_id(self) -> str | None:
        return self.fallback.cache_id if self.fallback else None  # what it speaks, the fallback speaks

    def recording(self, shot_id: str) -> Path | None:
        """The user's file for `shot_id`, if any."""
        return self.files.get(shot_id)

    def synthesize(self, text: str, output: Path, *, language: str = "en") -> Path:
        """Speak `text` with the fallback narrator.

        Raises:
            BadInputError: there is no fallback narrator.
        """
        if self.fallback is None:
            raise BadInputError("no narration file for this shot and no fallback narrator to speak it")
        return self.fallback.synthesize(text, output, language=language)
