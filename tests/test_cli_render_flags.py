"""`edusdk render` compose flags: --burn-captions, --extras, --rendition, --reframe, --hls, --no-smart.

Real renders through click's CliRunner with the storyboard engine, a two-section outline and a tiny frame.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edusdk._media import probe
from edusdk.cli import main

OUTLINE = """\
title: Fractions
subject: math
audience: grade 4
sections:
  - title: Halves
    narration: A half is one of two equal parts.
    transition: fade
  - title: Quarters
    narration: A quarter is one of four equal parts.
"""
TINY = ["--size", "160x90", "--fps", "10"]


@pytest.fixture
def outline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDUSDK_DB", str(tmp_path / "edusdk.db"))
    path = tmp_path / "outline.yaml"
    path.write_text(OUTLINE)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_flags_write_every_output_and_json_lists_the_files(outline: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "lesson.mp4"
    result = run("render", str(outline), "-o", str(out), *TINY, "--burn-captions", "--extras", "--rendition", "1:1",
                 "--rendition", "9:16", "--reframe", "crop", "--hls", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    folder = out.parent
    expected = ["lesson.mp4", "lesson.json", "lesson.vtt", "lesson.srt", "lesson.poster.jpg", "lesson.sprite.jpg",
                "lesson.thumbs.vtt", "master.m3u8", "lesson.1x1.mp4", "lesson.9x16.mp4"]  # fmt: skip
    assert [Path(f).name for f in data["files"]] == expected
    assert all(Path(f).is_file() for f in data["files"])
    assert (probe(folder / "lesson.1x1.mp4").width, probe(folder / "lesson.9x16.mp4").height) == (90, 160)
    compose = json.loads((folder / "lesson.json").read_text())["compose"]
    assert compose["method"] == "full" and "burned-in" in compose["note"]
    assert {r["reframe"] for r in compose["renditions"]} == {"crop"}
    master = (folder / "lesson.hls" / "master.m3u8").read_text()
    assert [line for line in master.splitlines() if not line.startswith("#")] == [
        "main/index.m3u8", "1x1/index.m3u8", "9x16/index.m3u8"
    ]  # fmt: skip


def test_no_smart_forces_the_full_re_encode(outline: Path, tmp_path: Path) -> None:
    out = tmp_path / "lesson.mp4"
    assert run("render", str(outline), "-o", str(out), *TINY, "--no-smart", "-q").exit_code == 0
    compose = json.loads(out.with_suffix(".json").read_text())["compose"]
    assert compose["method"] == "full" and compose["note"] == "smart rendering was turned off"
    assert run("render", str(outline), "-o", str(out), *TINY, "-q").exit_code == 0
    assert json.loads(out.with_suffix(".json").read_text())["compose"]["method"] == "smart"


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--rendition", "7:3"], "--rendition"),
        (["--rendition", "720p", "--rendition", "huge"], "--rendition"),
        (["--reframe", "zoom"], "--reframe"),
    ],
)
def test_bad_values_exit_2_naming_the_flag_and_write_nothing(
    outline: Path, tmp_path: Path, flags: list[str], named: str
) -> None:
    out = tmp_path / "out" / "lesson.mp4"
    result = run("render", str(outline), "-o", str(out), *TINY, *flags)
    assert result.exit_code == 2
    assert named in result.output
    assert not out.parent.exists()


def test_help_documents_the_flags() -> None:
    text = run("render", "--help").output
    for flag in ("--burn-captions", "--extras", "--rendition", "--reframe", "--hls", "--no-smart"):
        assert flag in text
