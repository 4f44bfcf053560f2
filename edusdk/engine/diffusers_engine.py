"""The local latent video engine: diffusers pipelines (LTX-Video, Wan 2.x) run in-process.

`DiffusersEngine.from_pretrained(DIR)` reads `DIR/model_index.json`, picks the family, loads the
pipeline once and derives the sibling pipelines it needs from the same weights (`from_pipe`, no copy).
torch and diffusers are imported here only, so `import edusdk` stays light.

Every mode is a real pipeline feature (no ffmpeg tricks):

    mode     ltx (LTXPipeline / LTXConditionPipeline)        wan (T2V)                  wan-i2v (I2V, first/last frame)
    text     LTXPipeline                                     WanPipeline                —
    image    condition: image at frame 0                     —                          image=first frame
    video    condition: whole clip, strength → SDEdit noise  WanVideoToVideo, strength  —
    extend   forward: clip's last 9 (8k+1) frames at frame 0; —                         forward: image=clip's last frame
             backward: its first frames at the end                                      (backward unsupported)
    loop     same image at first and last frame              —                          image = last_image
    connect  A's last frame at 0, B's first at the end       —                          image=A last, last_image=B first
    still    one frame (num_frames=1), held for the shot     one frame, held            —

Sizes are snapped to the family's grid (multiples of 32 for LTX, 16 for Wan) at the same aspect and
within its trained area; frame counts to 8k+1 (LTX) or 4k+1 (Wan); the fps to one the family generates
at. The snap is in `Clip.metadata["snap"]`; compose scales/pads clips to the lesson size.

Example:
    >>> engine = DiffusersEngine.from_pretrained("/models/LTX-Video", device="cuda", dtype="bfloat16")
    >>> clip = engine.generate(request, output=Path("shot.mp4"))
    >>> clip.metadata["snap"]["generated"]
    {'width': 832, 'height': 480, 'frames': 97, 'fps': 24}
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from edusdk._errors import BadInputError, EngineError, MediaError, UnsupportedModeError
from edusdk._fs import atomic_output, check_output_path
from edusdk._media import probe
from edusdk.engine._diffusers_families import (
    Family,
    detect_family,
    model_identity,
    read_presets,
    snap_frames,
    snap_size,
)
from edusdk.engine._diffusers_inputs import Plan, build_call, file_hash, make_plan, read_clip
from edusdk.engine.base import ProgressCallback
from edusdk.engine.clip_cache import ClipCache, cache_key
from edusdk.engine.storyboard import encode_frames, encoder_args
from edusdk.models.engine import Clip, EngineCapabilities, ShotRequest

DTYPES = ("float32", "bfloat16", "float16")
ENGINE_OPTIONS = {"steps", "guidance", "cache_dir", "cache", "max_frames", "max_area", "continuity"}
BLACK_LEVEL = 2 / 255  # a clip whose brightest pixel is below this is a failed (black) render


class GenerationCancelled(EngineError):
    """`engine.cancel()` stopped a render between denoising steps; nothing was written."""


def _keyframes(request: ShotRequest, plan: Plan) -> list[int]:
    """The requested keyframes that still name the same frames after planning (same fps and length), sorted."""
    if plan.fps != request.fps or plan.held != request.num_frames:
        return []
    return sorted(k for k in set(request.keyframes) if 0 < k < plan.held)


class DiffusersEngine:
    """A diffusers video pipeline loaded once and reused for every shot.

    Example:
        >>> engine = DiffusersEngine.from_pretrained("/tmp/tiny-ltx", steps=2)
        >>> engine.capabilities.modes
        ('text', 'image', 'video', 'extend', 'loop', 'connect', 'still')
    """

    name = "diffusers"

    def __init__(
        self,
        pipe: Any,
        *,
        family: Family,
        model_dir: Path,
        device: str,
        steps: int | None = None,
        guidance: float | None = None,
        cache_dir: str | Path | None = None,
        cache: bool = True,
        max_frames: int | None = None,
        max_area: int | None = None,
        continuity: bool = False,
    ) -> None:
        self.pipe = pipe
        self.family = family
        self.model_dir = model_dir
        self.model_id = model_identity(model_dir)
        self.device = device
        self.steps = steps or family.steps
        self.guidance = family.guidance if guidance is None else guidance
        self.cache = ClipCache(cache_dir) if cache else None
        self.max_frames = max_frames
        self.max_area = max_area
        self.continuity = continuity
        self._pipes: dict[str, Any] = {type(pipe).__name__: pipe}
        self._embeds: dict[str, tuple[Any, Any]] = {}
        self._cancel = threading.Event()
        self._last_frame: np.ndarray[Any, np.dtype[np.uint8]] | None = None
        self.embed_hits = 0

    # --- loading ------------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path,
        *,
        device: str = "cpu",
        dtype: str = "float32",
        cpu_offload: bool = False,
        vae_tiling: bool = False,
        compile: bool = False,
        **options: Any,
    ) -> DiffusersEngine:
        """Load the pipeline in the local diffusers directory `model` (never the network).

        Options: steps, guidance, cache_dir, cache (False disables the clip cache), max_frames, max_area,
        continuity (start each text shot from the previous shot's last frame where the family can).
        Defaults for them may sit in `model/edusdk.json` (`{"engine": {"steps": 20}}`); arguments win.

        Example:
            >>> engine = DiffusersEngine.from_pretrained("/models/Wan2.1-T2V-1.3B-Diffusers", device="cuda",
            ...                                          dtype="bfloat16", cpu_offload=True, vae_tiling=True)
        """
        unknown = set(options) - ENGINE_OPTIONS
        if unknown:
            raise BadInputError(f"unknown diffusers engine option(s): {', '.join(sorted(unknown))}; "
                                f"known: {', '.join(sorted(ENGINE_OPTIONS))}")  # fmt: skip
        model_dir = Path(model).expanduser().absolute()
        family = detect_family(model_dir)
        options = {**read_presets(model_dir, ENGINE_OPTIONS), **options}
        if dtype not in DTYPES:
            raise BadInputError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        import importlib

        import torch

        diffusers: Any = importlib.import_module("diffusers")

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BadInputError(f"device {device!r} asked for, but torch sees no CUDA device", hint="use device='cpu'")
        if cpu_offload and device == "cpu":
            raise BadInputError("cpu_offload needs an accelerator device (e.g. device='cuda')")
        try:
            pipe = diffusers.DiffusionPipeline.from_pretrained(str(model_dir), dtype=getattr(torch, dtype),
                                                     local_files_only=True)  # fmt: skip
        except (OSError, ValueError, KeyError) as exc:
            raise BadInputError(f"cannot load the pipeline in {model_dir}: {exc}") from None
        for component in pipe.components.values():
            if isinstance(component, torch.nn.Module):
                component.eval()
        if cpu_offload:
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
        if vae_tiling:
            pipe.vae.enable_tiling()
        if compile:
            pipe.transformer.compile()
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, family=family, model_dir=model_dir, device=device, **options)

    def pipeline(self, class_name: str) -> Any:
        """The pipeline `class_name`, built once from the loaded weights (components shared, not copied)."""
        if class_name not in self._pipes:
            import diffusers

            derived = getattr(diffusers, class_name).from_pipe(self.pipe)
            derived.set_progress_bar_config(disable=True)
            self._pipes[class_name] = derived
        return self._pipes[class_name]

    # --- the contract -------------------------------------------------------------------------------

    @property
    def capabilities(self) -> EngineCapabilities:
        f = self.family
        return EngineCapabilities(name=self.name, modes=f.modes, min_size=f.size_multiple, max_size=4096,
                                  size_multiple=f.size_multiple, max_frames=self.max_frames or f.max_frames,
                                  fps=f.fps)  # fmt: skip

    def cancel(self) -> None:
        """Stop the render in progress after its current denoising step (or the next render, if idle)."""
        self._cancel.set()

    def reset_continuity(self) -> None:
        """Forget the previous shot's last frame (call between lessons when `continuity=True`)."""
        self._last_frame = None

    def _mode(self, request: ShotRequest) -> str:
        if self.continuity and request.mode == "text" and self._last_frame is not None and "image" in self.family.modes:
            return "image"
        if request.mode not in self.family.modes:
            raise UnsupportedModeError(f"diffusers/{self.family.name}", request.mode, self.family.modes)
        return request.mode

    def plan(self, request: ShotRequest) -> Plan:
        """What will be generated for `request`: mode, snapped size/frames/fps and the conditioning inputs."""
        mode = self._mode(request)
        f = self.family
        fps = request.fps if request.fps in f.fps else f.fps[0]
        width, height = snap_size(f, request.width, request.height, max_area=self.max_area)
        frames = 1 if mode == "still" else snap_frames(f, round(request.duration_s * fps), max_frames=self.max_frames)
        held = max(1, round(request.duration_s * fps)) if mode == "still" else frames
        start = self._last_frame if mode != request.mode else None
        return make_plan(request, f, mode=mode, width=width, height=height, frames=frames, fps=fps, held=held,
                         start_frame=start)  # fmt: skip

    def cache_parts(self, request: ShotRequest, plan: Plan) -> dict[str, Any]:
        """Everything that decides the clip's pixels, for the results cache key."""
        return {
            "model": self.model_id, "family": self.family.name, "dtype": str(self.pipe.dtype),
            "device": self.device.split(":")[0], "mode": plan.mode, "prompt": request.prompt,
            "negative": request.negative_prompt, "size": [plan.width, plan.height], "frames": plan.frames,
            "held": plan.held, "fps": plan.fps, "steps": self.steps, "guidance": self.guidance, "seed": request.seed,
            "strength": request.strength if plan.mode == "video" else None, "direction": request.extend_direction,
            "inputs": {k: file_hash(v) for k, v in (("image", request.image), ("end_image", request.end_image),
                                                     ("video", request.video)) if v is not None},
            "start_frame": plan.start_hash,
            **({"keyframes": kf} if (kf := _keyframes(request, plan)) else {}),  # only when asked: old keys hold
        }  # fmt: skip

    def generate(self, request: ShotRequest, *, output: Path, on_progress: ProgressCallback | None = None) -> Clip:
        """Render `request` to an MP4 at `output` (whole or not at all), from the cache when unchanged."""
        # 1. Plan (mode, snap, inputs) and look in the cache: bad input fails before any model work.
        plan = self.plan(request)
        final = check_output_path(output)
        key = cache_key(self.cache_parts(request, plan))
        started = time.perf_counter()
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            cached, record = hit
            with atomic_output(final) as tmp:
                shutil.copyfile(cached, tmp)
            if self.continuity:  # the next shot starts from this clip's last frame, cached or not
                self._last_frame = read_clip(final, plan.width, plan.height)[-1]
            if on_progress is not None:
                on_progress(1.0)
            meta = {**record.get("metadata", {}), "cache": "hit", "seconds": round(time.perf_counter() - started, 4)}
            return self._clip(request, final, plan, meta)
        # 2. Denoise with the family's pipeline; progress and cancellation ride on the step callback.
        frames = self.denoise(request, plan, on_progress)
        # 3. Encode (yuv420p BT.709, closed GOPs on a fixed keyframe grid) and verify the frame count.
        with atomic_output(final) as tmp:
            args = encoder_args(width=plan.width, height=plan.height, fps=plan.fps, output=tmp,
                                keyframes=_keyframes(request, plan))  # fmt: skip
            held = (frames[min(i, len(frames) - 1)] for i in range(plan.held))
            encode_frames(held, args, num_frames=plan.held)
            info = probe(tmp)
            if info.frames != plan.held or (info.width, info.height) != (plan.width, plan.height):
                raise MediaError(f"shot {request.shot_id!r}: encoded {info.frames} frames of {info.width}x{info.height}"
                                 f", expected {plan.held} of {plan.width}x{plan.height}")  # fmt: skip
            meta = self._metadata(request, plan, key, time.perf_counter() - started)
            if self.cache is not None:
                self.cache.put(key, tmp, {"metadata": meta})
        self._last_frame = frames[-1]
        if on_progress is not None:
            on_progress(1.0)
        return self._clip(request, final, plan, {**meta, "cache": "miss" if self.cache is not None else "off"})

    def _clip(self, request: ShotRequest, path: Path, plan: Plan, meta: dict[str, Any]) -> Clip:
        return Clip(shot_id=request.shot_id, path=path, width=plan.width, height=plan.height, fps=plan.fps,
                    num_frames=plan.held, engine=self.name, model=self.model_dir.name, seed=request.seed,
                    metadata=meta)  # fmt: skip

    def _metadata(self, request: ShotRequest, plan: Plan, key: str, seconds: float) -> dict[str, Any]:
        requested = {"width": request.width, "height": request.height, "frames": request.num_frames,
                     "fps": request.fps}  # fmt: skip
        generated = {"width": plan.width, "height": plan.height, "frames": plan.frames, "fps": plan.fps}
        return {"family": self.family.name, "mode": plan.mode, "requested_mode": request.mode,
                "pipeline": plan.pipeline, "conditioning": plan.describe, "model_dir": str(self.model_dir),
                "model_id": self.model_id, "steps": self.steps, "guidance": self.guidance,
                "snap": {"requested": requested, "generated": generated, "held_frames": plan.held,
                         "changed": requested != generated},
                "cache_key": key, "seconds": round(seconds, 4)}  # fmt: skip

    # --- denoising ----------------------------------------------------------------------------------

    def prompt_embeds(self, pipe: Any, text: str) -> tuple[Any, Any]:
        """(embeddings, attention mask or None) of `text`, encoded once per engine."""
        if text in self._embeds:
            self.embed_hits += 1
            return self._embeds[text]
        import torch

        with torch.inference_mode():
            out = pipe.encode_prompt(prompt=text, do_classifier_free_guidance=False, device=pipe._execution_device,
                                     max_sequence_length=128 if self.family.name == "ltx" else 512)  # fmt: skip
        pair = (out[0], out[1]) if self.family.name == "ltx" else (out[0], None)
        self._embeds[text] = pair
        return pair

    def denoise(self, request: ShotRequest, plan: Plan, on_progress: ProgressCallback | None) -> list[Any]:
        """Run the pipeline for `plan`; return its frames as uint8 (h, w, 3) arrays. Raises EngineError."""
        import torch

        pipe = self.pipeline(plan.pipeline)
        kwargs = build_call(plan, width=plan.width, height=plan.height)
        embeds, mask = self.prompt_embeds(pipe, request.prompt)
        kwargs["prompt_embeds"] = embeds
        if self.guidance > 1.0:
            kwargs["negative_prompt_embeds"], neg_mask = self.prompt_embeds(pipe, request.negative_prompt)
        if self.family.name == "ltx":
            kwargs["prompt_attention_mask"] = mask
            if self.guidance > 1.0:
                kwargs["negative_prompt_attention_mask"] = neg_mask
        steps = self.steps

        def on_step(p: Any, i: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            if self._cancel.is_set():
                p._interrupt = True  # the pipelines' own flag: remaining steps are skipped
            if on_progress is not None:
                on_progress(0.95 * (i + 1) / steps)
            return tensors

        generator = torch.Generator("cpu").manual_seed(request.seed)  # CPU noise: same frames on any device
        try:
            with torch.inference_mode():
                result = pipe(**kwargs, num_inference_steps=steps, guidance_scale=self.guidance, generator=generator,
                              output_type="np", callback_on_step_end=on_step)  # fmt: skip
        except torch.OutOfMemoryError as exc:
            raise self._oom(plan, exc) from None
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise self._oom(plan, exc) from None
            raise EngineError(f"shot {request.shot_id!r}: {plan.pipeline} failed: {exc}") from exc
        finally:
            cancelled = self._cancel.is_set()
            self._cancel.clear()
        if cancelled:
            raise GenerationCancelled(f"shot {request.shot_id!r}: cancelled")
        video = np.asarray(result.frames[0], dtype=np.float32)
        if np.isnan(video).any():
            raise EngineError(f"shot {request.shot_id!r}: the model produced NaN frames",
                              hint="float16 overflows in some VAEs: try dtype='bfloat16' or 'float32'")  # fmt: skip
        if float(video.max()) < BLACK_LEVEL:
            raise EngineError(f"shot {request.shot_id!r}: the model produced all-black frames",
                              hint="check the weights and dtype; try dtype='float32'")  # fmt: skip
        if video.shape[0] != plan.frames:
            raise EngineError(f"shot {request.shot_id!r}: {plan.pipeline} returned {video.shape[0]} frames, "
                              f"expected {plan.frames}")  # fmt: skip
        u8 = (np.clip(video, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        return list(u8)

    def _oom(self, plan: Plan, exc: BaseException) -> EngineError:
        return EngineError(f"out of memory generating {plan.width}x{plan.height}, {plan.frames} frames on "
                           f"{self.device}: {str(exc).splitlines()[0]}",
                           hint="lower the size or shot length (max_area=, max_frames=), or load with "
                                "cpu_offload=True, vae_tiling=True, dtype='bfloat16'")  # fmt: skip


__all__ = ["DiffusersEngine", "GenerationCancelled"]
