"""What the diffusers engine knows about each model family: modes, size/frame grids, defaults, detection.

A family is recognised from the `_class_name` in the model directory's `model_index.json`; the
directory must hold every component that file names (each with its config), or loading fails early
with a BadInputError naming what is missing. No torch import happens here.

Example:
    >>> family = detect_family(Path("/models/LTX-Video"))
    >>> family.name, snap_frames(family, 120)
    ('ltx', 121)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edusdk._errors import BadInputError
from edusdk.models.script import ShotMode


@dataclass(frozen=True)
class Family:
    """One model family: the pipelines it loads and the grids its sizes and frame counts live on."""

    name: str
    class_names: tuple[str, ...]  # model_index.json `_class_name`s that mean this family
    modes: tuple[ShotMode, ...]
    size_multiple: int  # VAE spatial compression × transformer patch size
    frame_multiple: int  # frame counts are k * frame_multiple + 1 (VAE temporal compression)
    fps: tuple[int, ...]  # frame rates it generates at; the first is its native rate
    max_frames: int
    max_area: int  # width × height it was trained around; larger requests are scaled down to it
    steps: int
    guidance: float


FAMILIES: tuple[Family, ...] = (
    Family("ltx", ("LTXPipeline", "LTXImageToVideoPipeline", "LTXConditionPipeline"),
           ("text", "image", "video", "extend", "loop", "connect", "still"),
           size_multiple=32, frame_multiple=8, fps=(24, 25, 30), max_frames=257, max_area=768 * 512, steps=40,
           guidance=3.0),
    Family("wan", ("WanPipeline", "WanVideoToVideoPipeline"), ("text", "video", "still"),
           size_multiple=16, frame_multiple=4, fps=(16,), max_frames=81, max_area=832 * 480, steps=30, guidance=5.0),
    Family("wan-i2v", ("WanImageToVideoPipeline",), ("image", "extend", "loop", "connect"),
           size_multiple=16, frame_multiple=4, fps=(16,), max_frames=81, max_area=832 * 480, steps=30, guidance=5.0),
)  # fmt: skip
SUPPORTED_CLASSES = tuple(c for f in FAMILIES for c in f.class_names)


def read_model_index(model_dir: Path) -> dict[str, object]:
    """The parsed `model_index.json` of `model_dir`, or BadInputError naming what is missing or broken."""
    if not model_dir.is_dir():
        raise BadInputError(f"model directory {model_dir} does not exist",
                            hint="give a local diffusers-format directory, or make one: "
                                 "edusdk engine tiny-model DIR --family ltx")  # fmt: skip
    index = model_dir / "model_index.json"
    if not index.is_file():
        raise BadInputError(f"{model_dir} is not a diffusers pipeline: model_index.json is missing")
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{index} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{index} must hold a JSON object")
    return data


def detect_family(model_dir: Path) -> Family:
    """The family of the pipeline in `model_dir`; checks every component it names is present."""
    data = read_model_index(model_dir)
    class_name = str(data.get("_class_name", ""))
    family = next((f for f in FAMILIES if class_name in f.class_names), None)
    if family is None:
        raise BadInputError(f"{model_dir}: pipeline {class_name or '(no _class_name)'!r} is not supported; "
                            f"supported: {', '.join(SUPPORTED_CLASSES)}")  # fmt: skip
    missing = []
    for component, spec in data.items():
        if component.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        folder = model_dir / component
        if not folder.is_dir() or not any(folder.iterdir()):
            missing.append(f"{component}/")
        elif component != "tokenizer" and not any((folder / n).is_file() for n in CONFIG_NAMES):
            missing.append(f"{component}/ config")
    if missing:
        raise BadInputError(
            f"model directory {model_dir} is incomplete: missing {', '.join(missing)}",
            hint="re-download or re-save the pipeline (save_pretrained writes every component)",
        )
    return family


PRESETS_FILE = "edusdk.json"  # engine option defaults an operator (or tiny-model) leaves beside the weights
CONFIG_NAMES = ("config.json", "scheduler_config.json", "preprocessor_config.json")


def read_presets(model_dir: Path, allowed: set[str]) -> dict[str, Any]:
    """Engine option defaults from `model_dir/edusdk.json` (`{"engine": {...}}`), if that file exists."""
    path = model_dir / PRESETS_FILE
    if not path.is_file():
        return {}
    try:
        presets = json.loads(path.read_text(encoding="utf-8")).get("engine", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise BadInputError(f"{path} is not a valid presets file: {exc}") from None
    unknown = set(presets) - allowed
    if unknown:
        raise BadInputError(f"{path}: unknown engine option(s) {', '.join(sorted(unknown))}")
    return dict(presets)


def snap_size(family: Family, width: int, height: int, *, max_area: int | None = None) -> tuple[int, int]:
    """The size nearest `width`×`height` with the same aspect on the family's grid, within its max area.

    Example:
        >>> snap_size(FAMILIES[0], 1280, 720)
        (832, 480)
    """
    area = max_area or family.max_area
    scale = min(1.0, (area / (width * height)) ** 0.5)
    m = family.size_multiple
    return max(m, round(width * scale / m) * m), max(m, round(height * scale / m) * m)


def snap_frames(family: Family, frames: int, *, max_frames: int | None = None) -> int:
    """The nearest frame count of the form k·frame_multiple + 1, within the family's (or given) maximum."""
    m = family.frame_multiple
    top = max_frames or family.max_frames
    top = (top - 1) // m * m + 1
    return max(1, min(top, round((frames - 1) / m) * m + 1))


def model_identity(model_dir: Path) -> str:
    """A content hash of the model: every config, and every weight file's name, size and sampled bytes.

    Small files are hashed whole; weight files over 64 MiB are hashed by size plus their first and last
    MiB, so a 30 GB checkpoint is identified in milliseconds yet any re-save or swap changes the hash.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(model_dir).as_posix()
        size = path.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        with path.open("rb") as fh:
            if size <= 64 << 20:
                digest.update(hashlib.sha256(fh.read()).digest())
            else:
                digest.update(fh.read(1 << 20))
                fh.seek(-(1 << 20), 2)
                digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:24]
