"""From a ShotRequest to a pipeline call: which pipeline, which conditioning frames, which arguments.

`make_plan` reads the request's inputs (image files, clips decoded with ffmpeg at the generation size)
and decides the conditioning for the mode; `build_call` turns the plan into the pipeline's keyword
arguments. Kept apart from the engine so the mode table reads in one place; torch is not imported.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edusdk._errors import BadInputError, MediaError, UnsupportedModeError
from edusdk._media import ffmpeg_exe
from edusdk.engine._diffusers_families import Family
from edusdk.engine._images import open_rgb
from edusdk.engine.clip_cache import file_sha256
from edusdk.models.engine import ShotRequest

Frame = np.ndarray[Any, np.dtype[np.uint8]]
EXTEND_CONTEXT = 9  # frames of the input clip an LTX extension is conditioned on (8k+1)


@dataclass
class Plan:
    """What one request becomes: the mode actually run, sizes, the pipeline and its conditioning."""

    mode: str
    width: int
    height: int
    frames: int  # generated frames (on the family's grid)
    fps: int
    held: int  # frames written to the clip (differs from `frames` only for a still, held for the shot)
    pipeline: str = ""
    describe: str = ""
    # LTX: (image or frames, frame_index, strength); Wan: image / last_image / video
    conditions: list[tuple[Any, int, float]] = field(default_factory=list)
    image: Image.Image | None = None
    last_image: Image.Image | None = None
    video: list[Image.Image] | None = None
    strength: float = 1.0
    start_hash: str | None = None


def file_hash(path: Path) -> str:
    """sha256 of an input file, or BadInputError naming it."""
    if not Path(path).is_file():
        raise BadInputError(f"input file {path} does not exist")
    return file_sha256(Path(path))


def read_image(path: Path | None, what: str, width: int, height: int) -> Image.Image:
    """The image at `path` as RGB at `width`×`height`; BadInputError naming the field if missing or unreadable."""
    if path is None:
        raise BadInputError(f"this mode needs request.{what} (an image file)")
    image = open_rgb(path, f"request.{what}")
    return image.resize((width, height), Image.Resampling.LANCZOS)


def read_clip(path: Path | None, width: int, height: int) -> list[Frame]:
    """Every frame of the clip at `path`, decoded by ffmpeg and scaled to `width`×`height` (RGB uint8)."""
    if path is None:
        raise BadInputError("this mode needs request.video (an input clip)")
    if not Path(path).is_file():
        raise BadInputError(f"request.video {path} does not exist")
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
           "-vf", f"scale={width}:{height}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, check=False)
    size = width * height * 3
    if proc.returncode != 0 or not proc.stdout or len(proc.stdout) % size:
        raise MediaError(f"cannot decode request.video {path}: {proc.stderr.decode('utf-8', 'replace')[-500:]}")
    raw = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, height, width, 3)
    return list(raw)


def resample(frames: list[Frame], count: int) -> list[Frame]:
    """`count` frames picked evenly across `frames` (first and last kept)."""
    if count == 1:
        return [frames[0]]
    idx = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in idx]


def _pil(frame: Frame) -> Image.Image:
    return Image.fromarray(frame)


def make_plan(request: ShotRequest, family: Family, *, mode: str, width: int, height: int, frames: int, fps: int,
              held: int, start_frame: Frame | None = None) -> Plan:  # fmt: skip
    """Decide the pipeline and conditioning of `request` in `mode`, reading its input files."""
    plan = Plan(mode=mode, width=width, height=height, frames=frames, fps=fps, held=held)
    w, h = width, height
    if start_frame is not None:  # continuity: the previous shot's last frame starts this one
        plan.start_hash = hashlib.sha256(np.ascontiguousarray(start_frame).tobytes()).hexdigest()
        first: Image.Image | None = _pil(start_frame).resize((w, h))
    else:
        first = None

    def start_image() -> Image.Image:
        return first or read_image(request.image, "image", w, h)

    def clip() -> list[Frame]:
        return read_clip(request.video, w, h)

    if family.name == "ltx":
        plan.pipeline = "LTXConditionPipeline"
        if mode in ("text", "still"):
            plan.pipeline, plan.describe = "LTXPipeline", "text only"
        elif mode == "image":
            plan.conditions, plan.describe = [(start_image(), 0, 1.0)], "image at frame 0"
        elif mode == "video":
            plan.conditions = [([_pil(f) for f in resample(clip(), frames)], 0, 1.0 - request.strength)]
            plan.describe = f"whole clip at frame 0, condition strength {1.0 - request.strength:.2f}"
        elif mode == "extend":
            source = clip()
            k = min(EXTEND_CONTEXT, (len(source) - 1) // 8 * 8 + 1, max(1, (frames - 1) // 2 // 8 * 8 + 1))
            if request.extend_direction == "forward":
                context, index = source[-k:], 0
            else:
                context, index = source[:k], frames - k
            cond: Any = _pil(context[0]) if k == 1 else [_pil(f) for f in context]
            plan.conditions = [(cond, index, 1.0)]
            plan.describe = f"extend {request.extend_direction}: {k} frame(s) of the clip at frame {index}"
        elif mode == "loop":
            image = first or (read_image(request.image, "image", w, h) if request.image else _pil(clip()[0]))
            plan.conditions = [(image, 0, 1.0), (image, frames - 1, 1.0)]
            plan.describe = "same image at the first and last frame"
        elif mode == "connect":
            a = _pil(clip()[-1]) if request.video is not None and request.image is None else start_image()
            b = read_image(request.end_image, "end_image", w, h)
            plan.conditions = [(a, 0, 1.0), (b, frames - 1, 1.0)]
            plan.describe = "A's last frame at frame 0, B's first frame at the last frame"
    elif family.name == "wan":
        plan.pipeline, plan.describe = "WanPipeline", "text only"
        if mode == "video":
            plan.pipeline = "WanVideoToVideoPipeline"
            plan.video = [_pil(f) for f in resample(clip(), frames)]
            plan.strength, plan.describe = request.strength, f"video to video, strength {request.strength:.2f}"
    else:  # wan-i2v: first frame (and optionally last frame) conditioning
        plan.pipeline = "WanImageToVideoPipeline"
        if mode == "image":
            plan.image, plan.describe = start_image(), "image = first frame"
        elif mode == "extend":
            if request.extend_direction != "forward":
                raise UnsupportedModeError(f"diffusers/{family.name}", "extend backward", ["extend forward"])
            plan.image, plan.describe = _pil(clip()[-1]), "extend forward: the clip's last frame = first frame"
        elif mode == "loop":
            image = first or (read_image(request.image, "image", w, h) if request.image else _pil(clip()[0]))
            plan.image, plan.last_image, plan.describe = image, image, "image = first = last frame"
        elif mode == "connect":
            a = _pil(clip()[-1]) if request.video is not None and request.image is None else start_image()
            plan.image, plan.last_image = a, read_image(request.end_image, "end_image", w, h)
            plan.describe = "A's last frame first, B's first frame last"
    return plan


def build_call(plan: Plan, *, width: int, height: int) -> dict[str, Any]:
    """The pipeline keyword arguments for `plan` (prompt embeddings, steps and callbacks are added by the engine)."""
    kwargs: dict[str, Any] = {"width": width, "height": height}
    if plan.pipeline.startswith("LTX"):
        kwargs.update(num_frames=plan.frames, frame_rate=plan.fps)
        if plan.pipeline == "LTXConditionPipeline":
            from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

            kwargs["conditions"] = [
                LTXVideoCondition(video=c, frame_index=i, strength=s) if isinstance(c, list)
                else LTXVideoCondition(image=c, frame_index=i, strength=s)
                for c, i, s in plan.conditions
            ]  # fmt: skip
    elif plan.pipeline == "WanVideoToVideoPipeline":
        kwargs.update(video=plan.video, strength=plan.strength)
    else:
        kwargs["num_frames"] = plan.frames
        if plan.image is not None:
            kwargs["image"] = plan.image
        if plan.last_image is not None:
            kwargs["last_image"] = plan.last_image
    return kwargs
