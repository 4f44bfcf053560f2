"""`client.lessons`: the one place that strings the stages together.

Outline ─▶ script.expand ─▶ moderation.check_script ─▶ engine.generate per shot ─▶ compose.render
    ─▶ lesson.json ─▶ analytics.register_lesson
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from edusdk._bridges import bridge_clips, make_bridges
from edusdk._errors import BadInputError, PolicyRefusedError
from edusdk._fs import check_output_path, write_text_atomic
from edusdk._media import ffmpeg_version
from edusdk._version import __version__
from edusdk.compose import render as compose_render
from edusdk.compose.timeline import transition_frames
from edusdk.engine import VideoEngine
from edusdk.models.engine import Clip, ShotRequest
from edusdk.models.lesson import Lesson, Manifest
from edusdk.models.outline import AspectRatio, Outline
from edusdk.models.script import Script
from edusdk.moderation.pii import CONTACT_KINDS
from edusdk.narration import Narrator, fit_to_narration, narrate_script

if TYPE_CHECKING:
    from edusdk._client import EduClient

# Default frame size per aspect ratio: 720p-class, even dimensions (H.264 4:2:0 needs them).
DEFAULT_SIZES: dict[str, tuple[int, int]] = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "1:1": (720, 720),
    "4:3": (960, 720),
    "3:4": (720, 960),
    "21:9": (1680, 720),
}
DEFAULT_FPS = 30
_SIZE_RE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


def parse_size(size: str) -> tuple[int, int]:
    """Parse 'WxH' (even numbers, 16–7680) into (width, height); BadInputError otherwise."""
    m = _SIZE_RE.match(size.strip())
    if not m:
        raise BadInputError(f"size {size!r} is not WIDTHxHEIGHT, e.g. 1280x720")
    width, height = int(m.group(1)), int(m.group(2))
    for name, value in (("width", width), ("height", height)):
        if not 16 <= value <= 7680:
            raise BadInputError(f"size {size!r}: {name} must be between 16 and 7680")
        if value % 2:
            raise BadInputError(f"size {size!r}: {name} must be even (H.264 4:2:0)")
    return width, height


@dataclass(frozen=True)
class RenderProgress:
    """One progress report from `lessons.render`: the stage, and for `generate` the shot and its fraction."""

    stage: str  # "script" | "moderate" | "narrate" | "generate" | "compose" | "register" | "done"
    shot_index: int = 0
    shot_count: int = 0
    fraction: float = 0.0


RenderProgressCallback = Callable[[RenderProgress], None]


class LessonsResource:
    """`client.lessons`: render outlines (or edited scripts) into lesson videos."""

    def __init__(self, client: EduClient) -> None:
        self._client = client

    def render(
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
        """Render a lesson video with its captions and `lesson.json` manifest.

        `source` is an Outline (expanded with its template) or a Script (rendered as is, e.g. after
        hand-editing). Moderation runs before any engine call: a `block` decision raises
        PolicyRefusedError; `review` renders but the lesson is not publishable until approved.
        `burn_captions`, `extras` (poster + thumbnail sprite) and `renditions` (e.g. `["720p", "9:16"]`, reframed
        by `reframe`) are passed to `edusdk.compose.render`; what they wrote is listed in the manifest's `compose`.
        `smart=False` forces compose's full re-encode; `hls` also writes `<stem>.hls/` (fMP4 segments + master.m3u8).
        `narrator` (default: the client's, "auto") speaks every shot's narration (see `edusdk.narration`: "auto",
        "piper", "none", a Piper voice file, or a Narrator such as FilesNarrator for recorded audio); shots grow
        to fit their speech before any engine call. `music` is a file looped under the narration and ducked
        while it speaks; the sound track is normalised to −16 LUFS.

        Example:
            >>> lesson = client.lessons.render(Outline.from_file("photosynthesis.yaml"), output="out/lesson.mp4")
            >>> lesson.duration_s, [t.shot_id for t in lesson.timeline]
            (38.5, ['s01', 's02', 's03', 's04'])
        """
        report = on_progress or (lambda _p: None)
        if not 1 <= fps <= 120:
            raise BadInputError(f"fps {fps} must be between 1 and 120")
        output = check_output_path(output)
        if output.suffix.lower() != ".mp4":
            raise BadInputError(f"output {output} must end in .mp4")

        report(RenderProgress("script"))
        script = source if isinstance(source, Script) else self._client.scripts.expand(source)
        width, height = self._frame_size(script, aspect, size)

        report(RenderProgress("moderate"))
        moderation = self._client.moderation.check_script(script)
        if moderation.decision == "block":
            first = moderation.findings[0] if moderation.findings else None
            why = f": {first.category} in {first.where} ({first.span!r})" if first else ""
            raise PolicyRefusedError(f"policy {moderation.policy!r} blocked this lesson{why}", moderation)

        video_engine = self._client.engine(engine)
        voice = self._client.narrator(narrator, language=script.language)
        music_file = Path(music).expanduser() if music is not None else None
        if music_file is not None and not music_file.is_file():
            raise BadInputError(f"music file not found: {music_file}")
        shot_count = len(script.shots)
        with tempfile.TemporaryDirectory(prefix="edusdk-render-") as work:
            narration = None
            if voice is not None:  # speech first: it sets how long each shot must be
                report(RenderProgress("narrate", 0, shot_count, 0.0))
                speech_dir = Path(work) / "narration"
                speech_dir.mkdir()
                narration = narrate_script(
                    voice, script, speech_dir,
                    on_progress=lambda i, n: report(RenderProgress("narrate", i, n, i / n)),
                )  # fmt: skip
                script = fit_to_narration(script, narration, fps)
            jobs: list[tuple[ShotRequest, Path]] = []
            for i, shot in enumerate(script.shots):
                request = ShotRequest(
                    shot_id=shot.id,
                    mode=shot.mode,
                    prompt=self._client.moderation.redact(shot.prompt, kinds=CONTACT_KINDS),  # no contact data leaves
                    negative_prompt=shot.negative_prompt,
                    width=width,
                    height=height,
                    fps=fps,
                    num_frames=max(1, round(shot.duration_s * fps)),
                    seed=shot.seed,
                    on_screen=shot.on_screen,
                    image=shot.on_screen.image if shot.mode == "image" else None,
                    keyframes=transition_keyframes(script, i, fps),  # lets compose copy all but the transitions
                )
                jobs.append((request, Path(work) / f"{i:03d}-{shot.id}.mp4"))
            clips = generate_shots(video_engine, jobs, report)  # concurrently for engines with max_concurrency
            prompts = [request.prompt for request, _ in jobs]  # redacted: bridges send the same text to the engine
            bridges = make_bridges(
                video_engine, script, clips, Path(work), fps, width=width, height=height, prompts=prompts
            )
            checked = [*clips, *bridge_clips(bridges)]
            moderation = moderation.merged(self._client.moderation.videos.check_clips(checked))  # frame checks
            report(RenderProgress("compose", shot_count, shot_count, 0.0))
            composed = compose_render(
                script,
                clips,
                output=output,
                width=width,
                height=height,
                fps=fps,
                burn_captions=burn_captions,
                extras=extras,
                renditions=renditions,
                reframe=reframe,
                smart=smart,
                hls=hls,
                bridges=bridges,
                narration=narration,
                music=music_file,
            )  # burned captions, poster/sprite and renditions: see edusdk.compose.render

        lesson_id = lesson_id_for(script, width=width, height=height, fps=fps, engine=video_engine.name)
        manifest_path = output.with_suffix(".json")
        try:  # from here the lesson is all of its files or none of them
            # Frame checks on the final video, then C2PA signing (or a plain AI-generated label), atomically.
            final_check, provenance = self._client.moderation.videos.finish(
                composed.video, lesson_id=lesson_id, title=script.title, extra=composed.captions
            )
            moderation = moderation.merged(final_check)
            manifest = Manifest(
                lesson_id=lesson_id,
                title=script.title,
                outline_hash=script.outline_hash,
                # signing or labelling rewrote the file: its size is the final one, the rest is unchanged
                video=composed.info.model_copy(update={"size_bytes": composed.video.stat().st_size}),
                captions=composed.captions,
                timeline=composed.timeline,
                engine={
                    "name": video_engine.name,
                    "model": clips[0].model,
                    "seeds": {clip.shot_id: clip.seed for clip in clips},
                    "clips": [{"shot_id": c.shot_id, **c.metadata} for c in clips if c.metadata],
                },
                moderation=moderation,
                provenance=provenance,
                tools={"edusdk": __version__, "ffmpeg": ffmpeg_version(), "python": platform.python_version()},
                compose=composed.manifest_entry(),
                script=script,
            )
            write_text_atomic(manifest_path, manifest.model_dump_json(indent=2))
        except BaseException:
            for path in (composed.video, composed.captions, composed.srt, *composed.extra_files()):
                if path is not None and path.is_dir():  # the HLS directory
                    shutil.rmtree(path, ignore_errors=True)
                elif path is not None:
                    path.unlink(missing_ok=True)
            raise

        report(RenderProgress("register", shot_count, shot_count, 1.0))
        self._client.analytics.register_lesson(manifest, manifest_path=manifest_path)
        self._client.moderation.record(moderation, subject=lesson_id, actor="render")  # the audit log
        report(RenderProgress("done", shot_count, shot_count, 1.0))
        return Lesson(
            lesson_id=lesson_id,
            video=composed.video,
            manifest=manifest_path,
            captions=composed.captions,
            duration_s=composed.info.duration_s,
            timeline=composed.timeline,
            moderation=moderation,
            script=script,
        )

    @staticmethod
    def _frame_size(script: Script, aspect: AspectRatio | None, size: str | tuple[int, int] | None) -> tuple[int, int]:
        if size is not None:
            return parse_size(size if isinstance(size, str) else f"{size[0]}x{size[1]}")
        return DEFAULT_SIZES[aspect or script.aspect]


def transition_keyframes(script: Script, index: int, fps: int) -> list[int]:
    """Frames of shot `index`'s clip that should be keyframes so smart compose re-encodes just the transitions.

    They are one frame past the end of the incoming transition (t_in + 1) and one frame before the start of
    the outgoing one (n - t_out - 1), in compose.timeline's frame rounding: smart render cuts strictly
    outside a transition, as each part of an xfade window must be longer than the transition it joins.

    Example:
        >>> from edusdk.models.script import Shot, Transition
        >>> shots = [Shot(id=f"s{i}", section=0, prompt="p", duration_s=2, seed=i, narration="n",
        ...               transition=Transition(name="fade", duration_s=0.5)) for i in range(3)]
        >>> script = Script(title="t", subject="s", audience="a", style="flat", template="t", outline_hash="h",
        ...                 shots=shots)
        >>> transition_keyframes(script, 1, 30)
        [16, 44]
    """
    shots = script.shots
    n = max(1, round(shots[index].duration_s * fps))  # the ShotRequest's num_frames
    t_in = transition_frames(shots[index - 1].transition, fps) if index > 0 else 0
    t_out = transition_frames(shots[index].transition, fps) if index < len(shots) - 1 else 0
    wanted = ([t_in + 1] if t_in else []) + ([n - t_out - 1] if t_out else [])
    return sorted({k for k in wanted if 0 < k < n})


def lesson_id_for(script: Script, *, width: int, height: int, fps: int, engine: str) -> str:
    """A stable id: the same script rendered the same way is the same lesson (re-renders replace it)."""
    blob = json.dumps(
        {"script": script.model_dump(mode="json"), "size": [width, height], "fps": fps, "engine": engine},
        sort_keys=True,
    )
    return "les_" + hashlib.sha256(blob.encode()).hexdigest()[:16]


class _ShotsCancelled(Exception):
    """Raised inside a shot's progress callback once another shot failed: its wait stops early."""


def engine_concurrency(engine: VideoEngine) -> int:
    """How many shots `engine` takes at once: its `max_concurrency` (remote engines), else 1 (local compute)."""
    value = getattr(engine, "max_concurrency", 1)
    return value if isinstance(value, int) and value >= 1 else 1


def generate_shots(
    engine: VideoEngine, jobs: list[tuple[ShotRequest, Path]], report: RenderProgressCallback
) -> list[Clip]:
    """Generate every `(request, output)` job; the clips come back in job order.

    Up to `engine_concurrency(engine)` shots run at once in threads (a remote engine only waits on its
    server); progress is reported per shot, one report at a time. The first failure stops the other
    shots (queued ones never start; running ones stop at their next progress report) and is raised
    (the earliest shot's, if several failed).

    Example:
        >>> clips = generate_shots(RemoteEngine(url, api_key=key), [(request, Path("s01.mp4"))], print)
        >>> [clip.shot_id for clip in clips]
        ['s01']
    """
    count = len(jobs)
    lock, failed = threading.Lock(), threading.Event()

    def one(i: int) -> Clip:
        request, output = jobs[i]

        def progress(fraction: float) -> None:
            if failed.is_set():
                raise _ShotsCancelled(request.shot_id)
            with lock:
                report(RenderProgress("generate", i, count, fraction))

        if failed.is_set():
            raise _ShotsCancelled(request.shot_id)
        try:
            return engine.generate(request, output=output, on_progress=progress)
        except _ShotsCancelled:
            raise
        except BaseException:
            failed.set()  # before this worker thread can pick up the next queued shot
            raise

    workers = min(count, engine_concurrency(engine))
    if workers <= 1:
        return [one(i) for i in range(count)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="edusdk-shot") as pool:
        futures = [pool.submit(one, i) for i in range(count)]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # e.g. KeyboardInterrupt: stop the shots, then let it propagate
            failed.set()
            raise
        finally:
            if failed.is_set():
                for future in futures:
                    future.cancel()
    # Every shot has finished or stopped: raise the first real failure, in shot order.
    for future in futures:
        error = None if future.cancelled() else future.exception()
        if error is not None and not isinstance(error, _ShotsCancelled):
            raise error
    return [future.result() for future in futures]
