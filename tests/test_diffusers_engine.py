"""The diffusers engine with tiny random-weight pipelines (CPU, 64×64, a few frames, 2 steps, offline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing below may touch the network

from edusdk import EduClient, Outline
from edusdk._errors import BadInputError, EngineError, UnsupportedModeError
from edusdk._media import probe
from edusdk.engine import get_engine
from edusdk.engine.diffusers_engine import DiffusersEngine, GenerationCancelled
from edusdk.engine.storyboard import encode_frames, encoder_args
from edusdk.engine.tiny_models import write_tiny_model
from edusdk.models.engine import ShotRequest

pytest.importorskip("diffusers")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {family: write_tiny_model(root / family, family=family) for family in ("ltx", "wan", "wan-i2v")}


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    paths = {}
    for name in ("a", "b"):
        paths[name] = root / f"{name}.png"
        Image.fromarray(rng.integers(0, 255, (48, 80, 3), dtype=np.uint8)).save(paths[name])
    paths["clip"] = root / "clip.mp4"
    frames = [np.full((64, 64, 3), 10 * i, dtype=np.uint8) for i in range(13)]
    encode_frames(frames, encoder_args(width=64, height=64, fps=24, output=paths["clip"]), num_frames=13)
    return paths


def _engine(models: dict[str, Path], family: str, cache_dir: Path, **options: object) -> DiffusersEngine:
    return DiffusersEngine.from_pretrained(models[family], steps=2, max_frames=17, cache_dir=cache_dir, **options)


def _request(mode: str, inputs: dict[str, Path], **extra: object) -> ShotRequest:
    fields: dict[str, object] = dict(shot_id=f"s-{mode}", mode=mode, prompt="a green leaf in the sun", width=64,
                                     height=64, fps=24, num_frames=12, seed=7, image=inputs["a"],
                                     end_image=inputs["b"], video=inputs["clip"])  # fmt: skip
    fields.update(extra)
    return ShotRequest.model_validate(fields)


def _frames(path: Path) -> bytes:
    cmd = ["-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    from edusdk._media import ffmpeg_exe

    return subprocess.run([ffmpeg_exe(), "-loglevel", "error", *cmd], capture_output=True, check=True).stdout


@pytest.mark.parametrize(("family", "fps", "frames"), [("ltx", 24, 9), ("wan", 16, 9), ("wan-i2v", 16, 9)])
def test_every_supported_mode_renders_snapped_size_and_frames(models: dict[str, Path], inputs: dict[str, Path],
                                                              tmp_path: Path, family: str, fps: int,
                                                              frames: int) -> None:  # fmt: skip
    engine = _engine(models, family, tmp_path / "cache")
    for mode in engine.capabilities.modes:
        extra = {"extend_direction": "backward"} if (mode == "extend" and family == "ltx") else {}
        clip = engine.generate(_request(mode, inputs, **extra), output=tmp_path / f"{mode}.mp4")
        info = probe(clip.path)
        expected = round(12 / 24 * fps) if mode == "still" else frames
        assert (info.width, info.height, info.frames) == (64, 64, expected), mode
        assert clip.num_frames == expected and clip.fps == fps and clip.metadata["mode"] == mode
        assert clip.metadata["snap"]["generated"]["frames"] == (1 if mode == "still" else frames)
    assert engine.embed_hits > 0  # the same prompt was encoded once


def test_size_snap_is_reported(models: dict[str, Path], inputs: dict[str, Path], tmp_path: Path) -> None:
    engine = _engine(models, "ltx", tmp_path / "cache", max_area=96 * 64)
    clip = engine.generate(_request("text", inputs, width=120, height=70, num_frames=30), output=tmp_path / "s.mp4")
    snap = clip.metadata["snap"]
    assert snap["changed"] and snap["generated"] == {"width": 96, "height": 64, "frames": 17, "fps": 24}
    assert (probe(clip.path).width, probe(clip.path).height) == (96, 64)


def test_determinism_and_cache(models: dict[str, Path], inputs: dict[str, Path], tmp_path: Path) -> None:
    uncached = _engine(models, "wan", tmp_path / "c0", cache=False)
    a = uncached.generate(_request("text", inputs), output=tmp_path / "a.mp4")
    b = uncached.generate(_request("text", inputs), output=tmp_path / "b.mp4")
    assert a.metadata["cache"] == "off" and _frames(a.path) == _frames(b.path)
    other = uncached.generate(_request("text", inputs, seed=8), output=tmp_path / "c.mp4")
    assert _frames(other.path) != _frames(a.path)

    engine = _engine(models, "wan", tmp_path / "cache")
    first = engine.generate(_request("text", inputs), output=tmp_path / "d.mp4")
    hit = engine.generate(_request("text", inputs), output=tmp_path / "e.mp4")
    assert (first.metadata["cache"], hit.metadata["cache"]) == ("miss", "hit")
    assert _frames(hit.path) == _frames(a.path)

    # a corrupt entry is detected and regenerated
    cached = next((tmp_path / "cache").rglob("*.mp4"))
    cached.write_bytes(cached.read_bytes()[:100])
    again = engine.generate(_request("text", inputs), output=tmp_path / "f.mp4")
    assert again.metadata["cache"] == "miss" and engine.cache is not None and engine.cache.dropped == 1
    assert _frames(again.path) == _frames(a.path)


def test_requested_keyframes_are_forced_when_the_frames_keep_their_place(models: dict[str, Path],
                                                                         inputs: dict[str, Path],
                                                                         tmp_path: Path) -> None:  # fmt: skip
    from edusdk.compose.mp4 import read_video_track

    engine = _engine(models, "ltx", tmp_path / "cache")
    plain = engine.generate(_request("still", inputs), output=tmp_path / "plain.mp4")
    assert plain.metadata["cache"] == "miss"
    held = engine.generate(_request("still", inputs, keyframes=[5]), output=tmp_path / "still.mp4")  # 12 frames
    track = read_video_track(held.path)
    assert track is not None and track.clean_cuts == [0, 5]
    assert held.metadata["cache"] == "miss"  # same pixels, other keyframes: the keyframes are in the cache key
    snapped = engine.generate(_request("text", inputs, keyframes=[5]), output=tmp_path / "text.mp4")  # 12 → 9
    track = read_video_track(snapped.path)
    assert track is not None and track.clean_cuts == [0]  # frame 5 no longer names the same moment: ignored


def test_unsupported_mode_names_family_and_mode(models: dict[str, Path], inputs: dict[str, Path],
                                                tmp_path: Path) -> None:  # fmt: skip
    engine = _engine(models, "wan", tmp_path / "cache")
    with pytest.raises(UnsupportedModeError, match=r"diffusers/wan.*'connect'"):
        engine.generate(_request("connect", inputs), output=tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_missing_incomplete_and_unknown_model_dirs(models: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        DiffusersEngine.from_pretrained(tmp_path / "nope")
    with pytest.raises(BadInputError, match="needs a model directory"):
        get_engine("diffusers")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text((models["wan"] / "model_index.json").read_text())
    with pytest.raises(BadInputError, match=r"incomplete: missing .*transformer/"):
        DiffusersEngine.from_pretrained(broken)
    (broken / "model_index.json").write_text('{"_class_name": "FluxPipeline"}')
    with pytest.raises(BadInputError, match=r"'FluxPipeline' is not supported; supported: LTXPipeline"):
        DiffusersEngine.from_pretrained(broken)


def test_progress_and_cancel(models: dict[str, Path], inputs: dict[str, Path], tmp_path: Path) -> None:
    engine = _engine(models, "ltx", tmp_path / "cache", cache=False)
    seen: list[float] = []
    engine.generate(_request("text", inputs), output=tmp_path / "p.mp4", on_progress=seen.append)
    assert seen == sorted(seen) and len(seen) == 3 and seen[-1] == 1.0

    def cancel_on_first_step(fraction: float) -> None:
        engine.cancel()

    with pytest.raises(GenerationCancelled):
        engine.generate(_request("text", inputs, seed=9), output=tmp_path / "q.mp4", on_progress=cancel_on_first_step)
    assert not (tmp_path / "q.mp4").exists() and not engine._cancel.is_set()


def test_cancel_from_another_thread_is_safe(models: dict[str, Path], inputs: dict[str, Path], tmp_path: Path) -> None:
    engine = _engine(models, "wan", tmp_path / "cache", cache=False)
    timer = threading.Timer(0.0, engine.cancel)
    timer.start()
    timer.join()
    with pytest.raises(GenerationCancelled):  # a cancel while idle stops the next render
        engine.generate(_request("text", inputs), output=tmp_path / "r.mp4")
    engine.generate(_request("text", inputs), output=tmp_path / "r.mp4")
    assert (tmp_path / "r.mp4").is_file()


def test_lesson_render_end_to_end(models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUSDK_CACHE_DIR", str(tmp_path / "cache"))
    engine = get_engine("diffusers", model=models["ltx"], steps=2, max_frames=17, continuity=True)
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}")
    outline = Outline.from_file(ROOT / "examples" / "outlines" / "photosynthesis.yaml")
    lesson = client.lessons.render(outline, output=tmp_path / "lesson.mp4", size=(64, 64), fps=12, engine=engine)
    info = probe(lesson.video)
    assert (info.width, info.height) == (64, 64) and info.frames > 0
    assert (tmp_path / "cache" / "clips").is_dir()


def test_import_edusdk_does_not_import_torch() -> None:
    code = "import sys, edusdk, edusdk.engine, edusdk.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ltx_extend_forward_continuity_and_nan(models: dict[str, Path], inputs: dict[str, Path],
                                               tmp_path: Path) -> None:  # fmt: skip
    engine = _engine(models, "ltx", tmp_path / "cache", continuity=True)
    forward = engine.generate(_request("extend", inputs), output=tmp_path / "fwd.mp4")
    assert "forward" in forward.metadata["conditioning"] and probe(forward.path).frames == 9
    follow = engine.generate(_request("text", inputs, shot_id="next"), output=tmp_path / "next.mp4")
    assert (follow.metadata["mode"], follow.metadata["requested_mode"]) == ("image", "text")

    import torch

    with torch.no_grad():
        next(engine.pipe.transformer.parameters()).fill_(float("nan"))  # broken weights, not a stub
    with pytest.raises(EngineError, match="NaN"):
        engine.generate(_request("text", inputs, seed=99, shot_id="nan"), output=tmp_path / "nan.mp4")
    assert not (tmp_path / "nan.mp4").exists()


def test_unknown_option_is_bad_input(models: dict[str, Path]) -> None:
    with pytest.raises(BadInputError, match="unknown diffusers engine option"):
        get_engine("diffusers", model=models["wan"], base_url="http://x")


def test_cli_tiny_model(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edusdk.cli import main

    result = CliRunner().invoke(main, ["engine", "tiny-model", str(tmp_path / "m"), "--family", "wan", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["family"] == "wan"
    assert json.loads((tmp_path / "m" / "model_index.json").read_text())["_class_name"] == "WanPipeline"
    again = CliRunner().invoke(main, ["engine", "tiny-model", str(tmp_path / "m"), "--family", "wan"])
    assert again.exit_code == 2 and "not an empty directory" in again.output


@pytest.mark.slow
def test_cli_render_with_diffusers_engine(models: dict[str, Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from click.testing import CliRunner

    from edusdk.cli import main

    monkeypatch.setenv("EDUSDK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EDUSDK_DB", str(tmp_path / "edusdk.db"))
    outline = str(ROOT / "examples" / "outlines" / "photosynthesis.yaml")
    args = ["render", outline, "--engine", "diffusers", "--size", "64x64", "--fps", "12", "--json"]
    ok = CliRunner().invoke(main, [*args, "--model", str(models["ltx"]), "-o", str(tmp_path / "l.mp4")])
    assert ok.exit_code == 0, ok.output
    assert probe(tmp_path / "l.mp4").width == 64
    bad = CliRunner().invoke(main, [*args, "--model", str(tmp_path / "none"), "-o", str(tmp_path / "x.mp4")])
    assert bad.exit_code == 2 and "does not exist" in bad.output
