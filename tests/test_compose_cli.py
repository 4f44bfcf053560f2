"""`edusdk compose` and `client.compose`: the user's own footage, any codec/size/fps, with named transitions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edusdk import EduClient
from edusdk._errors import BadInputError
from edusdk._media import ffmpeg_exe, probe
from edusdk.cli import main
from edusdk.compose.captions import parse_captions
from edusdk.compose.footage import parse_transition
from edusdk.models.script import Transition


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *args], capture_output=True, check=True)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three clips as users bring them: H.264 160x90 30 fps, MPEG-4 Part 2 in .mov 200x200 25 fps, and two
    clips encoded like edusdk's own (forced keyframes, compose settings)."""
    folder = tmp_path_factory.mktemp("footage")
    a, b = folder / "a.mp4", folder / "b.mov"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30", "-frames:v", "45", "-c:v", "libx264",
            "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(a))  # fmt: skip
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=200x200:rate=25", "-frames:v", "40", "-c:v", "mpeg4", str(b))
    files = {"a": a, "b": b}
    for name, hue in (("e1", 0), ("e2", 120)):
        path = folder / f"{name}.mp4"
        _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=160x90:rate=30,hue=h={hue}", "-frames:v", "70", "-c:v",
                "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-force_key_frames",
                "expr:gte(t,n_forced*1)", "-sc_threshold", "0", str(path))  # fmt: skip
        files[name] = path
    return files


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_parse_transition() -> None:
    assert parse_transition("wipeleft=1") == Transition(name="wipeleft", duration_s=1.0)
    assert parse_transition("fade") == Transition(name="fade", duration_s=0.5)
    assert parse_transition("cut") == Transition()
    with pytest.raises(BadInputError, match=r"unknown transition 'swirl'.*valid: cut, fade, wipeleft"):
        parse_transition("swirl=1")
    for bad in ("fade=abc", "fade=0", "fade=9", "cut=1"):
        with pytest.raises(BadInputError):
            parse_transition(bad)


def test_compose_mixed_footage_normalises_to_the_first_clip(footage: dict[str, Path], tmp_path: Path) -> None:
    srt = tmp_path / "cues.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n\n2\n00:00:01,000 --> 00:00:09,000\nWorld\n")
    out = tmp_path / "out" / "joined.mp4"
    result = run("compose", str(footage["a"]), str(footage["b"]), str(footage["a"]), "-t", "fade=0.5",
                 "-t", "wipeleft=0.2", "-o", str(out), "--captions", str(srt), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # b: 40 frames at 25 fps → 48 at 30 fps; joins of 15 and 6 frames
    assert data["frames"] == 45 + 48 + 45 - 15 - 6 and (data["width"], data["height"]) == (160, 90)
    assert data["method"] == "full" and data["cues"] == 2
    assert [c["file"] for c in data["clips"]] == ["a.mp4", "b.mov", "a.mp4"]
    info = probe(out)
    assert info.frames == data["frames"] and info.subtitle_tracks == 1 and info.fps == 30
    cues = parse_captions(out.with_suffix(".vtt").read_text())
    assert [c.text for c in cues] == ["Hello", "World"] and cues[-1].end_s == pytest.approx(117 / 30, abs=1e-3)
    assert out.with_suffix(".srt").read_text().startswith("1\n00:00:00,000 --> 00:00:01,000\nHello")


def test_compose_size_and_fps_options(footage: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "small.mp4"
    result = run("compose", str(footage["b"]), str(footage["a"]), "-o", str(out), "--size", "96x96", "--fps", "10",
                 "--preset", "ultrafast", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert (info.width, info.height, info.fps) == (96, 96, 10) and info.frames == 16 + 15  # cut by default


def test_compose_smart_and_no_smart(footage: dict[str, Path], tmp_path: Path) -> None:
    clips = [str(footage["e1"]), str(footage["e2"]), str(footage["e1"])]
    smart = json.loads(run("compose", *clips, "-t", "fade=0.5", "-o", str(tmp_path / "s.mp4"), "--json").output)
    full = json.loads(run("compose", *clips, "-t", "fade=0.5", "-o", str(tmp_path / "f.mp4"), "--no-smart",
                          "--json").output)  # fmt: skip
    assert smart["method"] == "smart" and full["method"] == "full"
    assert smart["frames"] == full["frames"] == 210 - 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-t", "swirl=1"], "valid: cut, fade"),
        (["-t", "fade=0.5", "-t", "cut", "-t", "fade=1"], "give one transition for all or 1"),
        (["-t", "fade=3"], "shorten the transition"),
        (["--captions", "cues.txt"], ".vtt or .srt"),
    ],
)
def test_compose_bad_input_exits_2(footage: dict[str, Path], tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out" / "x.mp4"
    result = CliRunner().invoke(main, ["compose", str(footage["a"]), str(footage["e1"]), "-o", str(out), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_compose_missing_file_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["compose", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "x.mp4")])
    assert result.exit_code == 1 and "nope.mp4" in result.output


def test_client_compose(footage: dict[str, Path], tmp_path: Path) -> None:
    with EduClient(db=str(tmp_path / "e.db")) as client:
        result = client.compose([footage["e1"], footage["e2"]], ["dissolve=0.3"], output=tmp_path / "c.mp4")
    assert result.method == "smart" and result.info.frames == 140 - 9 and result.cues == []
