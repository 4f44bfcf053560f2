"""EduClient: a thin facade; each resource is built on first use and holds the client's settings."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from edusdk._lessons import DEFAULT_FPS, LessonsResource, RenderProgressCallback
from edusdk.analytics import Analytics
from edusdk.engine import VideoEngine, get_engine
from edusdk.models.lesson import Lesson
from edusdk.models.outline import AspectRatio, Outline
from edusdk.models.script import Script, Transition
from edusdk.moderation import Policy
from edusdk.moderation.resource import ModerationResource
from edusdk.narration import Narrator, default_narrator, get_narrator
from edusdk.script import expand, variants

if TYPE_CHECKING:
    from edusdk.batch.job import BatchResource
    from edusdk.compose.render import ComposeResult


class ScriptsResource:
    """`client.scripts`: outline → script expansion with the client's templates."""

    def __init__(self, templates_dir: Path | None) -> None:
        self._templates_dir = templates_dir

    def expand(self, outline: Outline, *, template: str | None = None) -> Script:
        """Expand `outline` into a script (the outline's own template unless `template` is given)."""
        return expand(outline, template=template, templates_dir=self._templates_dir)

    def variants(self, outline: Outline, *, template: str | None = None) -> list[Script]:
        """One script per variant of `outline` (its declared variables' combinations; see
        `edusdk.script.matrix`), in deterministic order, each carrying its values in `variables`."""
        return [expand(o, template=template, templates_dir=self._templates_dir) for o in variants(outline)]


class EduClient:
    """The edusdk client.

    Example:
        >>> client = EduClient()      # storyboard engine, SQLite store (EDUSDK_DB or ./edusdk.db), k12 policy
        >>> lesson = client.lessons.render(Outline.from_file("examples/outlines/photosynthesis.yaml"),
        ...                                output="out/lesson.mp4")
    """

    def __init__(
        self,
        *,
        engine: str | VideoEngine = "storyboard",
        policy: str | Policy = "k12",
        db: str | None = None,
        templates_dir: str | Path | None = None,
        engine_options: dict[str, Any] | None = None,
        narrator: str | Path | Narrator | None = None,
    ) -> None:
        """`narrator` speaks the lessons' narration: "auto" (the default, or `$EDUSDK_NARRATOR`) uses the
        offline Piper voice when the `narration` extra is installed; "none" renders silent lessons."""
        self._narrator_spec: str | Path | Narrator = narrator or default_narrator()
        self._narrators: dict[str, Narrator | None] = {}
        self._engine_spec = engine
        self._engine_options = engine_options or {}
        self._policy = policy
        self._db = db
        self._templates_dir = Path(templates_dir) if templates_dir is not None else None
        self._engines: dict[str, VideoEngine] = {}

    @functools.cached_property
    def scripts(self) -> ScriptsResource:
        return ScriptsResource(self._templates_dir)

    @functools.cached_property
    def lessons(self) -> LessonsResource:
        return LessonsResource(self)

    @functools.cached_property
    def moderation(self) -> ModerationResource:
        return ModerationResource(self._policy, lambda: self.analytics.engine)

    @functools.cached_property
    def analytics(self) -> Analytics:
        return Analytics(self._db)

    @functools.cached_property
    def batch(self) -> BatchResource:
        """`client.batch.submit(matrix, output_dir=...)`: many lessons from a variable matrix (edusdk.batch)."""
        from edusdk.batch.job import BatchResource

        return BatchResource(self)

    def engine(self, spec: str | VideoEngine | None = None) -> VideoEngine:
        """The engine for `spec` (a name or an engine object), else the client's default; built once per name."""
        spec = self._engine_spec if spec is None else spec
        if not isinstance(spec, str):
            return spec
        if spec not in self._engines:
            options = self._engine_options if spec == self._engine_spec else {}
            self._engines[spec] = get_engine(spec, **options)
        return self._engines[spec]

    def narrator(self, spec: str | Path | Narrator | None = None, *, language: str | None = None) -> Narrator | None:
        """The narrator for `spec` (a name, a Piper voice file or a Narrator), else the client's; None: silent.

        Named narrators are built once per client (a Piper voice loads in about a second). With "auto" and a
        `language` its voice does not speak, the lesson is silent rather than read in the wrong language
        (any other choice is kept, and refused later with a clear error).

        Raises:
            BadInputError: an unknown name, or "piper" without the `narration` extra.
        """
        spec = self._narrator_spec if spec is None else spec
        if not isinstance(spec, str | Path):
            return spec
        key = str(spec)
        if key not in self._narrators:
            self._narrators[key] = get_narrator(key)
        voice = self._narrators[key]
        if key == "auto" and voice is not None and language is not None and voice.languages:
            return voice if language.split("-")[0].lower() in voice.languages else None
        return voice

    def compose(
        self,
        files: Sequence[str | Path],
        transitions: Sequence[str | Transition] = (),
        *,
        output: str | Path,
        captions: str | Path | None = None,
        size: tuple[int, int] | None = None,
        fps: int | None = None,
        smart: bool = True,
        audio: bool = True,
        music: str | Path | None = None,
    ) -> ComposeResult:
        """Join your own video files with transitions (`"fade=0.5"`, `"wipeleft=1"`, `"cut"`) into one MP4.

        The clips' own sound is kept and crossfaded with the pictures (`audio=False` drops it); `music` lays a
        ducked bed under it. See `edusdk.compose.footage.compose_files` for the rest.

        Example:
            >>> result = client.compose(["intro.mp4", "lab.mov"], ["fade=0.5"], output="out/joined.mp4")
            >>> result.method, result.info.frames
            ('full', 312)
        """
        from edusdk.compose.footage import compose_files

        return compose_files(files, transitions, output=output, captions=captions, size=size, fps=fps, smart=smart,
                             audio=audio, music=music)  # fmt: skip

    def close(self) -> None:
        """Release the analytics store's connections."""
        if "analytics" in self.__dict__:
            self.analytics.close()

    def __enter__(self) -> EduClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncLessonsResource:
    """`async_client.lessons`: the same renders, run in a worker thread so the event loop stays free."""

    def __init__(self, client: EduClient) -> None:
        self._client = client

    async def render(
        self,
        source: Outline | Script,
        *,
        output: str | Path = "lesson.mp4",
        aspect: AspectRatio | None = None,
        size: str | tuple[int, int] | None = None,
        fps: int = DEFAULT_FPS,
        engine: str | VideoEngine | None = None,
        on_progress: RenderProgressCallback | None = None,
        burn_captions: bool = False,
        extras: bool = False,
        renditions: Sequence[str] = (),
        reframe: Literal["blur", "crop"] = "blur",
        smart: bool = True,
        hls: bool = False,
        narrator: str | Path | Narrator | None = None,
        music: str | Path | None = None,
    ) -> Lesson:
        """Async twin of `EduClient.lessons.render` (same arguments, same result; the signatures are kept equal
        by hand, as openai-python does, so both stay fully typed)."""
        return await asyncio.to_thread(
            self._client.lessons.render,
            source,
            output=output,
            aspect=aspect,
            size=size,
            fps=fps,
            engine=engine,
            on_progress=on_progress,
            burn_captions=burn_captions,
            extras=extras,
            renditions=renditions,
            reframe=reframe,
            smart=smart,
            hls=hls,
            narrator=narrator,
            music=music,
        )


class AsyncEduClient:
    """Async twin of EduClient for web backends: renders run off the event loop.

    Example:
        >>> async with AsyncEduClient() as client:
        ...     lesson = await client.lessons.render(outline, output="out/lesson.mp4")
    """

    def __init__(self, **options: Any) -> None:
        self.sync = EduClient(**options)
        self.lessons = AsyncLessonsResource(self.sync)

    @property
    def scripts(self) -> ScriptsResource:
        return self.sync.scripts

    @property
    def moderation(self) -> ModerationResource:
        return self.sync.moderation

    @property
    def analytics(self) -> Analytics:
        return self.sync.analytics

    async def close(self) -> None:
        self.sync.close()

    async def __aenter__(self) -> AsyncEduClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
