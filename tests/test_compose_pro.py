"""compose, the professional extras: burned-in captions, poster and sprite, renditions, quality checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edusdk._media import ffmpeg_exe
from edusdk.compose import render
from edusdk.compose.burn import caption_style, fonts_dir, to_ass
from edusdk.models.engine import Clip
from edusdk.models.lesson import CaptionCue
from edusdk.models.script import Script, Shot, Transition

FPS = 30
W, H = 160, 90


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *args], check=True)


def _clip(folder: Path, name: str, frames: int, *, size: tuple[int, int] = (W, H), source: str = "testsrc2") -> Clip:
    path = folder / f"{name}.mp4"
    lavfi = f"{source}{':' if '=' in source else '='}size={size[0]}x{size[1]}:rate={FPS}"
    if not path.exists():
        _ffmpeg("-f", "lavfi", "-i", lavfi, "-frames:v", str(frames), "-pix_fmt", "yuv420p", "-c:v", "libx264",
                "-preset", "ultrafast", str(path))  # fmt: skip
    return Clip(shot_id=name, path=path, width=size[0], height=size[1], fps=FPS, num_frames=frames, engine="test",
                seed=0)  # fmt: skip


def _script(ids: list[str], narration: str = "Light becomes sugar. Water is split.") -> Script:
    shots = [
        Shot(
            id=i,
            section=0,
            prompt=f"prompt {i}",
            duration_s=1.5,
            seed=n,
            narration=narration,
            transition=Transition(name="fade", duration_s=0.5),
        )
        for n, i in enumerate(ids)
    ]
    return Script(title="T", subject="s", audience="a", style="flat", template="t", outline_hash="h", shots=shots)


def frame_rgb(video: Path, seconds: float, width: int, height: int) -> bytes:
    """One decoded frame as raw RGB24 bytes."""
    data = subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-ss", f"{seconds}", "-i", str(video), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert len(data) == width * height * 3
    return data


def _band_diff(a: bytes, b: bytes, width: int, rows: range) -> float:
    """Mean absolute difference of the RGB bytes in `rows`."""
    lo, hi = rows.start * width * 3, rows.stop * width * 3
    return sum(abs(x - y) for x, y in zip(a[lo:hi], b[lo:hi], strict=True)) / (hi - lo)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    folder = tmp_path_factory.mktemp("clips")
    return [_clip(folder, "a", 45), _clip(folder, "b", 45)]


# ------------------------------------------------------------------------------------------- burned captions


def test_caption_style_scales_with_the_frame_and_fits_portrait() -> None:
    wide, tall, square = caption_style(1920, 1080), caption_style(1080, 1920), caption_style(1080, 1080)
    assert wide.font_px == round(1080 * 0.055) and abs(caption_style(3840, 2160).font_px - 2 * wide.font_px) <= 1
    assert tall.font_px < wide.font_px and tall.font_px * 42 * 0.55 <= 0.9 * 1080 + 1  # a full line fits
    assert tall.margin_v > wide.margin_v and square.margin_h == 54
    assert fonts_dir() is not None and (fonts_dir() / "DejaVuSans.ttf").is_file()  # type: ignore[operator]


def test_ass_script_is_in_frame_pixels_and_escapes_overrides() -> None:
    ass = to_ass([CaptionCue(start_s=1.234, end_s=62.5, text="{\\b1}bold\nline two")], 1280, 720)
    assert "PlayResX: 1280\nPlayResY: 720" in ass and ",3," in ass  # BorderStyle 3: the box
    assert "Dialogue: 0,0:00:01.23,0:01:02.50,Caption,,0,0,0,,(⧵b1)bold\\Nline two" in ass


def test_burned_captions_change_the_bottom_band_only_while_a_cue_shows(clips: list[Clip], tmp_path: Path) -> None:
    script = _script(["a", "b"])
    plain = render(script, clips, output=tmp_path / "plain.mp4", width=W, height=H, fps=FPS, smart=False)
    burned = render(script, clips, output=tmp_path / "burned.mp4", width=W, height=H, fps=FPS, burn_captions=True)
    assert burned.method == "full" and "burned-in captions" in burned.note
    assert burned.info.subtitle_tracks == 1 and burned.info.frames == plain.info.frames
    assert not list(tmp_path.glob("*.ass")) and not list(tmp_path.glob("*.tmp*"))
    cue = burned.cues[0]
    t = (cue.start_s + cue.end_s) / 2
    a, b = frame_rgb(plain.video, t, W, H), frame_rgb(burned.video, t, W, H)
    assert _band_diff(a, b, W, range(H * 2 // 3, H)) > 10  # the caption box and text
    assert _band_diff(a, b, W, range(0, H // 4)) < 5  # the top is untouched: x264 noise between two encodes (≈ 3)


# ------------------------------------------------------------------------------------------- poster and sprite


def _jpeg_size(path: Path) -> tuple[int, int]:
    from edusdk._media import probe

    info = probe(path)
    return info.width, info.height


def test_poster_sprite_and_thumbnail_track(clips: list[Clip], tmp_path: Path) -> None:
    script = _script(["a", "b"])
    result = render(script, clips, output=tmp_path / "lesson.mp4", width=W, height=H, fps=FPS, extras=True)
    assert result.poster == tmp_path / "lesson.poster.jpg" and _jpeg_size(result.poster) == (W, H)
    duration = result.info.duration_s  # 75 frames = 2.5 s → thumbnails at 0 and 2 s
    assert result.sprite is not None and result.thumbs is not None
    assert _jpeg_size(result.sprite) == (2 * 160, 90)  # 2 thumbnails, 160 wide, the frame's aspect
    vtt = result.thumbs.read_text(encoding="utf-8")
    cues = [block.strip() for block in vtt.split("\n\n")[1:] if block.strip()]
    assert len(cues) == 2 and duration == pytest.approx(2.5)
    assert cues[0] == "00:00:00.000 --> 00:00:02.000\nlesson.sprite.jpg#xywh=0,0,160,90"
    assert cues[1] == "00:00:02.000 --> 00:00:02.500\nlesson.sprite.jpg#xywh=160,0,160,90"
    assert {"poster", "sprite", "thumbs"} <= result.manifest_entry().keys()
    assert not list(tmp_path.glob("*.tmp*"))


def test_sprite_grid_wraps_rows_and_counts_cues(clips: list[Clip], tmp_path: Path) -> None:
    from edusdk.compose.extras import poster_time, write_sprite

    video = render(_script(["a", "b"]), clips, output=tmp_path / "v.mp4", width=W, height=H, fps=FPS).video
    sprite = write_sprite(video, duration_s=2.5, width=W, height=H, interval_s=0.2, thumb_width=32, columns=5)
    assert (sprite.count, sprite.columns, sprite.rows, sprite.thumb_size) == (13, 5, 3, (32, 18))
    assert _jpeg_size(sprite.image) == (5 * 32, 3 * 18)
    assert sprite.vtt.read_text(encoding="utf-8").count("#xywh=") == 13
    assert "#xywh=64,36,32,18" in sprite.vtt.read_text(encoding="utf-8")  # tile 12: column 2, row 2
    portrait = write_sprite(video, duration_s=2.5, width=90, height=160, image=tmp_path / "p.sprite.jpg")
    assert portrait.thumb_size == (90, 160) and portrait.vtt.name == "p.thumbs.vtt"
    titled = _script(["a", "b"]).model_copy(deep=True)
    titled.shots[0].on_screen.title = "Photosynthesis"
    timeline = render(titled, clips, output=tmp_path / "t.mp4", width=W, height=H, fps=FPS).timeline
    assert poster_time(titled, timeline) == pytest.approx((timeline[1].visible_start_s + timeline[1].visible_end_s) / 2)


# ------------------------------------------------------------------------------------------- renditions


def test_rendition_names_and_sizes() -> None:
    from edusdk._errors import BadInputError
    from edusdk.compose.renditions import parse_rendition

    sizes = {n: (r.width, r.height) for n in ("1080p", "720p", "9:16", "1:1", "640x360")
             for r in [parse_rendition(n, width=1920, height=1080)]}  # fmt: skip
    assert sizes == {"1080p": (1920, 1080), "720p": (1280, 720), "9:16": (1080, 1920), "1:1": (1080, 1080),
                     "640x360": (640, 360)}  # fmt: skip
    with pytest.raises(BadInputError, match=r"unknown rendition 'square'.*9:16"):
        parse_rendition("square", width=W, height=H)
    with pytest.raises(BadInputError, match="unknown rendition"):
        parse_rendition("641x360", width=W, height=H)  # odd


@pytest.mark.parametrize("reframe", ["blur", "crop"])
def test_renditions_are_reframed_with_subtitles_and_listed(clips: list[Clip], tmp_path: Path, reframe: str) -> None:
    from edusdk._media import probe

    result = render(_script(["a", "b"]), clips, output=tmp_path / "l.mp4", width=W, height=H, fps=FPS,
                    renditions=["9:16", "1:1", "64x36"], reframe=reframe)  # type: ignore[arg-type]  # fmt: skip
    got = {r.name: (r.path.name if r.path else "", r.width, r.height, r.reframe) for r in result.renditions}
    assert got == {"9:16": ("l.9x16.mp4", 90, 160, reframe), "1:1": ("l.1x1.mp4", 90, 90, reframe),
                   "64x36": ("l.64x36.mp4", 64, 36, "scale")}  # fmt: skip
    for r in result.renditions:
        assert r.path is not None
        info = probe(r.path)
        assert (info.width, info.height, info.frames, info.subtitle_tracks) == (r.width, r.height, 75, 1)
    entry = result.manifest_entry()["renditions"]
    assert isinstance(entry, list) and [e["name"] for e in entry] == ["9:16", "1:1", "64x36"]
    if reframe == "blur":  # the whole picture is kept: the top and bottom bands are blurred, not the picture
        tall = frame_rgb(tmp_path / "l.9x16.mp4", 0.5, 90, 160)
        crop = render_renditions_crop(result.video, tmp_path)
        assert _band_diff(tall, crop, 90, range(0, 30)) > 5


def render_renditions_crop(video: Path, folder: Path) -> bytes:
    from edusdk.compose.renditions import render_renditions

    made = render_renditions(video, ["9:16"], width=W, height=H, frames=75, output=folder / "c.mp4", reframe="crop")
    assert made[0].path is not None
    return frame_rgb(made[0].path, 0.5, 90, 160)


def test_bad_rendition_fails_before_any_output(clips: list[Clip], tmp_path: Path) -> None:
    from edusdk._errors import BadInputError

    with pytest.raises(BadInputError, match="unknown rendition"):
        render(_script(["a", "b"]), clips, output=tmp_path / "x.mp4", width=W, height=H, fps=FPS, renditions=["4k"])
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------- CLI


def test_cli_burns_captions_and_writes_extras_and_renditions(clips: list[Clip], tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from edusdk.cli import main

    cues = tmp_path / "cues.vtt"
    cues.write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nHello there\n", encoding="utf-8")
    out = tmp_path / "joined.mp4"
    args = ["compose", str(clips[0].path), str(clips[1].path), "-t", "fade=0.5", "-o", str(out), "--captions",
            str(cues), "--burn-captions", "--extras", "--rendition", "1:1", "--reframe", "crop", "--json"]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["method"] == "full" and "burned-in" in doc["note"]
    assert doc["poster"].endswith("joined.poster.jpg") and doc["thumbs"].endswith("joined.thumbs.vtt")
    assert [(r["name"], r["width"], r["height"], r["reframe"]) for r in doc["renditions"]] == [("1:1", 90, 90, "crop")]
    bad = CliRunner().invoke(main, ["compose", str(clips[0].path), "-o", str(tmp_path / "b.mp4"), "--rendition", "8k"])
    assert bad.exit_code == 2 and "unknown rendition" in bad.output


# ------------------------------------------------------------------------------------------- quality checks


def test_parse_findings_closes_an_open_freeze_at_the_end() -> None:
    from edusdk.compose.quality import QualityFinding, parse_findings

    log = (
        "[blackdetect @ 0x1] black_start:0 black_end:2.5 black_duration:2.5\n"
        "[freezedetect @ 0x2] lavfi.freezedetect.freeze_start: 3.5\n"
        "[freezedetect @ 0x2] lavfi.freezedetect.freeze_duration: 1\n"
        "[freezedetect @ 0x2] lavfi.freezedetect.freeze_end: 4.5\n"
        "[freezedetect @ 0x2] lavfi.freezedetect.freeze_start: 6\n"
    )
    assert parse_findings(log, duration_s=9.0) == [
        QualityFinding("black", 0.0, 2.5),
        QualityFinding("frozen", 3.5, 4.5),
        QualityFinding("frozen", 6.0, 9.0),
    ]


def test_black_and_frozen_stretches_are_found_and_thresholds_relax(tmp_path: Path) -> None:
    from edusdk.compose.quality import QualityThresholds

    black = _clip(tmp_path, "black", 75, source="color=c=black")  # 2.5 s of black
    still = _clip(tmp_path, "still", 150, source="color=c=red")  # 5 s of one frame
    moving = _clip(tmp_path, "moving", 30)
    script = _script(["black", "moving", "still"]).model_copy(deep=True)
    for shot in script.shots:
        shot.transition = Transition()  # cuts: the stretches stay whole
    result = render(script, [black, moving, still], output=tmp_path / "q.mp4", width=W, height=H, fps=FPS)
    assert result.quality is not None and not result.quality.ok
    kinds = [(f.kind, round(f.start_s, 1), round(f.end_s, 1)) for f in result.quality.findings]
    assert kinds == [("black", 0.0, 2.5), ("frozen", 3.5, 8.5)]
    entry = result.manifest_entry()["quality"]
    assert isinstance(entry, dict) and entry["freeze_threshold_s"] == 4.0 and len(entry["findings"]) == 2
    assert [f.shot_id for f in result.quality.findings] == ["black", "still"]
    relaxed = script.model_copy(update={"variables": {"max_freeze_s": 10, "max_black_s": 0}})
    again = render(relaxed, [black, moving, still], output=tmp_path / "r.mp4", width=W, height=H, fps=FPS)
    assert again.quality is not None and again.quality.ok and again.quality.thresholds.black_s == 0
    off = render(script, [black, moving, still], output=tmp_path / "o.mp4", width=W, height=H, fps=FPS,
                 thresholds=QualityThresholds(black_s=3.0, freeze_s=6.0))  # fmt: skip
    assert off.quality is not None and off.quality.ok


def test_bad_threshold_variable_is_a_clear_error(clips: list[Clip], tmp_path: Path) -> None:
    from edusdk._errors import BadInputError

    script = _script(["a", "b"]).model_copy(update={"variables": {"max_freeze_s": "long"}})
    with pytest.raises(BadInputError, match="max_freeze_s"):
        render(script, clips, output=tmp_path / "x.mp4", width=W, height=H, fps=FPS)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------- lessons


def test_lesson_render_passes_the_options_and_the_manifest_lists_the_outputs(tmp_path: Path) -> None:
    from edusdk import EduClient, Manifest, Outline

    outline = Outline.from_file(Path(__file__).resolve().parents[1] / "examples" / "outlines" / "photosynthesis.yaml")
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}")
    lesson = client.lessons.render(outline, output=tmp_path / "lesson.mp4", size=(128, 72), fps=8,
                                   burn_captions=True, extras=True, renditions=["1:1"])  # fmt: skip
    manifest = Manifest.model_validate_json(lesson.manifest.read_text())
    compose = manifest.compose
    assert compose["method"] == "full" and "burned-in" in compose["note"]
    assert Path(compose["poster"]).is_file() and Path(compose["sprite"]).is_file()
    assert [(r["name"], r["width"], r["height"]) for r in compose["renditions"]] == [("1:1", 72, 72)]
    assert "findings" in compose["quality"]


def test_burned_captions_are_styled_per_rendition_size(clips: list[Clip], tmp_path: Path) -> None:
    script = _script(["a", "b"])
    plain = render(script, clips, output=tmp_path / "p.mp4", width=W, height=H, fps=FPS, renditions=["9:16"],
                   reframe="crop")  # fmt: skip
    burned = render(script, clips, output=tmp_path / "b.mp4", width=W, height=H, fps=FPS, renditions=["9:16"],
                    reframe="crop", burn_captions=True)  # fmt: skip
    assert burned.method == "full" and "at each size" in burned.note
    assert burned.info.frames == plain.info.frames == 75 and burned.info.subtitle_tracks == 1
    t = (burned.cues[0].start_s + burned.cues[0].end_s) / 2
    a, b = frame_rgb(plain.video, t, W, H), frame_rgb(burned.video, t, W, H)
    bottom, top = _band_diff(a, b, W, range(H * 2 // 3, H)), _band_diff(a, b, W, range(0, H // 4))
    assert bottom > 10 and top < 6 and bottom > 3 * top, (bottom, top)  # top: a second encode's noise only
    tall_plain = frame_rgb(tmp_path / "p.9x16.mp4", t, 90, 160)
    tall_burned = frame_rgb(tmp_path / "b.9x16.mp4", t, 90, 160)
    assert _band_diff(tall_plain, tall_burned, 90, range(100, 140)) > 10  # above the portrait safe margin
    assert _band_diff(tall_plain, tall_burned, 90, range(0, 40)) < 6
    assert not list(tmp_path.glob("*.tmp*"))
