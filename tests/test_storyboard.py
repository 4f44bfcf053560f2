"""The storyboard engine: real ffmpeg encodes at tiny sizes, frame-exact, deterministic, atomic on failure."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from edusdk._errors import BadInputError, MediaError, UnsupportedModeError
from edusdk._media import probe
from edusdk.compose.mp4 import read_video_track
from edusdk.engine import VideoEngine, get_engine
from edusdk.engine.storyboard import (
    CardRenderer,
    StoryboardEngine,
    encoder_args,
    fade_schedule,
    force_key_frames,
    iter_frames,
)
from edusdk.models.engine import ShotRequest
from edusdk.models.script import OnScreen

LESSON = OnScreen(
    title="Photosynthesis: how plants make food",
    points=["Light is captured by chlorophyll", "Water is split, oxygen released", "CO2 becomes sugar"],
)


def request(**changes: Any) -> ShotRequest:
    fields: dict[str, Any] = {"shot_id": "s01", "prompt": "a green leaf in sunlight", "width": 160, "height": 90,
                              "fps": 24, "num_frames": 48, "seed": 7, "on_screen": LESSON}  # fmt: skip
    fields.update(changes)
    return ShotRequest(**fields)


def frames_digest(req: ShotRequest) -> str:
    digest = hashlib.sha256()
    for frame in iter_frames(req):
        digest.update(frame.tobytes())
    return digest.hexdigest()


@pytest.fixture
def reference_image(tmp_path: Path) -> Path:
    image = Image.new("RGB", (320, 240), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 40, 220, 200), fill=(240, 200, 40))
    draw.line((0, 0, 320, 240), fill=(255, 255, 255), width=6)
    path = tmp_path / "leaf.png"
    image.save(path)
    return path


def test_is_a_video_engine_picked_by_name() -> None:
    engine = get_engine("storyboard")
    assert isinstance(engine, StoryboardEngine)
    assert isinstance(engine, VideoEngine)
    assert engine.capabilities.modes == ("text", "image", "still", "connect")
    assert engine.capabilities.size_multiple == 2


def test_encoder_args_stream_rgb24_into_x264_with_a_keyframe_grid() -> None:
    args = encoder_args(width=160, height=90, fps=24, output="out.mp4", crf=20, preset="veryfast")
    joined = " ".join(args)
    assert "-f rawvideo -pix_fmt rgb24 -s 160x90 -r 24 -i -" in joined
    assert "-c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p" in joined
    assert "-force_key_frames expr:not(mod(n,24))" in joined
    assert "-sc_threshold 0" in joined and "-flags +cgop" in joined
    assert "-movflags +faststart" in joined and "-an" in args
    assert args[-1] == "out.mp4"


def test_force_key_frames_adds_the_requested_frames_to_the_grid() -> None:
    assert force_key_frames(24) == "expr:not(mod(n,24))"
    assert force_key_frames(30, [45, 15, 15, 60, 0]) == "expr:not(mod(n,30))+eq(n,15)+eq(n,45)"  # sorted, deduped


def test_requested_keyframes_are_clean_cuts_in_the_clip(tmp_path: Path) -> None:
    req = request(num_frames=60, keyframes=[5, 23, 30, 41, 200])  # 200 is past the end: ignored
    clip = StoryboardEngine().generate(req, output=tmp_path / "clip.mp4")
    track = read_video_track(clip.path)
    assert track is not None and track.sample_count == 60
    assert track.clean_cuts == [0, 5, 23, 24, 30, 41, 48]  # the 1 s grid (0, 24, 48) stays in place
    assert clip.metadata["keyframes"] == [5, 23, 30, 41]


@pytest.mark.parametrize(("width", "height"), [(160, 90), (90, 160), (96, 96)])
def test_generate_writes_exactly_the_requested_frames(tmp_path: Path, width: int, height: int) -> None:
    req = request(width=width, height=height, num_frames=60)
    progress: list[float] = []
    clip = StoryboardEngine().generate(req, output=tmp_path / "clip.mp4", on_progress=progress.append)
    info = probe(clip.path)
    assert (info.frames, info.width, info.height, info.codec) == (60, width, height, "h264")
    assert info.fps == 24
    assert (clip.num_frames, clip.width, clip.height, clip.fps, clip.seed) == (60, width, height, 24, 7)
    assert (clip.engine, clip.model, clip.shot_id) == ("storyboard", "storyboard-v1", "s01")
    assert clip.path == (tmp_path / "clip.mp4").absolute()
    assert progress[-1] == 1.0 and progress == sorted(progress) and len(progress) >= 5
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary file left behind


def test_formula_is_rendered(tmp_path: Path) -> None:
    on_screen = LESSON.model_copy(update={"formulas": [r"\frac{a}{b}=c^2"]})
    with_formula = request(width=320, height=180, on_screen=on_screen)
    renderer = CardRenderer(with_formula)
    assert renderer.metadata["formulas"] == 1 and renderer.metadata["dropped_items"] == 0
    last = list(renderer.frames())[-1]
    assert not np.array_equal(last, list(CardRenderer(request(width=320, height=180)).frames())[-1])
    clip = StoryboardEngine().generate(with_formula, output=tmp_path / "formula.mp4")
    assert probe(clip.path).frames == 48


def test_invalid_formula_is_bad_input() -> None:
    bad = request(on_screen=OnScreen(title="t", formulas=[r"\frac{a}{"]))
    with pytest.raises(BadInputError, match="formula"):
        CardRenderer(bad)


@pytest.mark.parametrize(("width", "height", "layout"), [(320, 180, "side-by-side"), (180, 320, "stacked")])
def test_reference_image_pans_and_zooms(reference_image: Path, width: int, height: int, layout: str) -> None:
    req = request(width=width, height=height, on_screen=LESSON.model_copy(update={"image": reference_image}))
    renderer = CardRenderer(req)
    assert renderer.metadata["layout"] == layout
    kb = renderer.kenburns
    assert kb is not None
    frames = list(renderer.frames())
    rows, cols = slice(kb.box.y, kb.box.y + kb.box.h), slice(kb.box.x, kb.box.x + kb.box.w)
    assert not np.array_equal(frames[0][rows, cols], frames[-1][rows, cols])  # the Ken-Burns move


def test_image_mode_uses_the_request_image(tmp_path: Path, reference_image: Path) -> None:
    req = request(mode="image", image=reference_image, on_screen=OnScreen(title="Leaves"))
    clip = StoryboardEngine().generate(req, output=tmp_path / "image.mp4")
    assert probe(clip.path).frames == 48
    assert clip.metadata["image"] == str(reference_image)


def test_image_mode_without_an_image_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="image mode"):
        StoryboardEngine().generate(request(mode="image"), output=tmp_path / "x.mp4")
    with pytest.raises(BadInputError, match="does not exist"):
        CardRenderer(request(on_screen=OnScreen(title="t", image=tmp_path / "missing.png")))
    assert list(tmp_path.iterdir()) == []


def test_still_mode_is_a_static_card_of_the_requested_length(tmp_path: Path) -> None:
    poster = StoryboardEngine().generate(request(mode="still", num_frames=1), output=tmp_path / "poster.mp4")
    assert probe(poster.path).frames == 1
    frames = list(iter_frames(request(mode="still", num_frames=3)))
    assert all(np.array_equal(frames[0], f) for f in frames)
    # The still card is the animated card's last frame: everything shown.
    assert np.array_equal(frames[0], list(iter_frames(request()))[-1])


def test_points_appear_one_after_another() -> None:
    frames = list(iter_frames(request(num_frames=72)))
    changes = [not np.array_equal(a, b) for a, b in itertools.pairwise(frames)]
    assert any(changes) and not all(changes)  # fades happen, then the card holds
    assert not np.array_equal(frames[0], frames[-1])


def test_fade_schedule_is_sequential_and_finishes_in_time() -> None:
    for count, n, fps in [(3, 48, 24), (5, 240, 30), (4, 1, 30), (6, 5, 24), (1, 2, 60)]:
        schedule = fade_schedule(count, n, fps)
        assert len(schedule) == count
        for (start, length), (next_start, _) in itertools.pairwise(schedule):
            assert start + length <= next_start or length == 1
        assert all(start >= 0 and start + length <= n and length >= 1 for start, length in schedule)


def test_frames_are_deterministic_for_a_seed() -> None:
    req = request(on_screen=LESSON.model_copy(update={"formulas": ["E=mc^2"]}))
    assert frames_digest(req) == frames_digest(req)
    assert frames_digest(req) != frames_digest(request(seed=8, on_screen=req.on_screen))


@pytest.mark.parametrize(("width", "height"), [(16, 16), (160, 90), (90, 160), (34, 200), (400, 18), (1280, 720)])
def test_any_size_renders_without_crashing(reference_image: Path, width: int, height: int) -> None:
    crowded = OnScreen(title="A very long title " * 5, points=["a rather long point that must wrap " * 3] * 6,
                       formulas=[r"\int_0^1 x^2\,dx = \frac{1}{3}"], image=reference_image)  # fmt: skip
    frames = list(iter_frames(request(width=width, height=height, num_frames=3, on_screen=crowded)))
    assert len(frames) == 3 and frames[0].shape == (height, width, 3) and frames[0].dtype == np.uint8


def test_without_on_screen_content_the_prompt_is_drawn() -> None:
    renderer = CardRenderer(request(on_screen=OnScreen(), num_frames=2))
    assert renderer.metadata["layout"] == "prompt"
    blank = next(iter_frames(request(prompt=" ", on_screen=OnScreen(), num_frames=2)))
    assert not np.array_equal(next(renderer.frames()), blank)


def test_unsupported_mode_names_engine_and_mode(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModeError, match="storyboard") as caught:
        StoryboardEngine().generate(request(mode="video"), output=tmp_path / "x.mp4")
    assert caught.value.engine == "storyboard" and caught.value.mode == "video"
    assert "'video'" in str(caught.value)


def test_odd_size_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="161x90"):
        StoryboardEngine().generate(request(width=161), output=tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_raises_media_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="ffmpeg failed") as caught:
        StoryboardEngine(preset="no-such-preset").generate(request(), output=tmp_path / "x.mp4")
    assert "preset" in str(caught.value).lower()  # ffmpeg's own stderr is in the message
    assert list(tmp_path.iterdir()) == []


def test_failure_while_drawing_stops_ffmpeg_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_frames(self: CardRenderer, *, copy: bool = True) -> Iterator[np.ndarray[Any, Any]]:
        yield self.card.base
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(CardRenderer, "frames", failing_frames)
    with pytest.raises(RuntimeError, match="drawing failed"):
        StoryboardEngine().generate(request(), output=tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []
