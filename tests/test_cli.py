"""The `edusdk` CLI end to end: real renders, real ffmpeg, real SQLite; exit codes and clean failures."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edusdk._media import probe
from edusdk.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "outlines"
TINY = ["--size", "160x90", "--fps", "10"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDUSDK_DB", str(tmp_path / "edusdk.db"))
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_renders(env: Path, example: str) -> None:
    out = env / "out" / "lesson.mp4"
    result = run("render", str(EXAMPLES / example), "-o", str(out), *TINY, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"lesson_id", "video", "manifest", "captions", "duration_s", "shots", "moderation"} <= data.keys()
    assert data["moderation"]["decision"] in ("allow", "review")
    info = probe(out)
    assert (info.codec, info.width, info.height, info.subtitle_tracks) == ("h264", 160, 90, 1)
    manifest = json.loads(Path(data["manifest"]).read_text())
    timeline = manifest["timeline"]
    assert len(timeline) == data["shots"] == len(manifest["script"]["shots"])
    # the timeline partitions the real video, within one frame
    assert timeline[0]["start_s"] == 0
    assert all(a["end_s"] == pytest.approx(b["start_s"]) for a, b in itertools.pairwise(timeline))
    assert abs(timeline[-1]["end_s"] - info.duration_s) <= 1 / 10 + 1e-6
    assert info.frames == round(timeline[-1]["end_s"] * 10)
    assert Path(data["captions"]).read_text().startswith("WEBVTT")


def test_render_aspect_portrait(env: Path) -> None:
    out = env / "portrait.mp4"
    result = run("render", str(EXAMPLES / "pythagoras.yaml"), "-o", str(out), "--aspect", "9:16", "--fps", "5", "-q")
    assert result.exit_code == 0, result.output
    assert (probe(out).width, probe(out).height) == (720, 1280)


def test_script_command_and_edited_script_renders_as_is(env: Path) -> None:
    saved = env / "edited.script.yaml"
    assert run("script", str(EXAMPLES / "photosynthesis.yaml"), "-o", str(saved)).exit_code == 0
    text = saved.read_text()
    first_prompt = json.loads(run("script", str(EXAMPLES / "photosynthesis.yaml"), "--json").output)["shots"][0]
    edited = text.replace(first_prompt["on_screen"]["title"], "Edited by hand", 1)
    saved.write_text(edited)
    out = env / "edited.mp4"
    result = run("render", str(saved), "-o", str(out), *TINY, "--json")
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["script"]["shots"][0]["on_screen"]["title"] == "Edited by hand"


def test_analytics_lists_rendered_lessons(env: Path) -> None:
    out = env / "l.mp4"
    lesson_id = json.loads(
        run("render", str(EXAMPLES / "photosynthesis.yaml"), "-o", str(out), *TINY, "--json").output
    )["lesson_id"]
    listed = json.loads(run("analytics", "lessons", "--json").output)
    assert [row["lesson_id"] for row in listed] == [lesson_id]
    human = run("analytics", "lessons")
    assert lesson_id in human.output


GOOD = """\
title: Fractions
subject: math
audience: grade 4
sections:
  - title: Halves
    narration: A half is one of two equal parts. Two halves make a whole.
    transition: fade
  - title: Quarters
    narration: A quarter is one of four equal parts.
"""

BAD_INPUTS = {
    "missing file": (None, "nope.yaml", "file not found"),
    "malformed yaml": ("title: [oops\n", "outline.yaml", "line 2"),
    "unknown field": (GOOD + "colour: red\n", "outline.yaml", "colour"),
    "wrong type": (GOOD.replace("grade 4", "grade 4\nobjectives: 12"), "outline.yaml", "objectives"),
    "empty sections": ("title: T\nsubject: s\nsections: []\n", "outline.yaml", "sections"),
    "missing image": (GOOD + "    image: pics/missing.png\n", "outline.yaml", "missing.png"),
    "unknown transition": (GOOD.replace("transition: fade", "transition: sparkle"), "sparkle", "circleopen"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_exits_2_names_culprit_and_leaves_nothing(env: Path, case: str) -> None:
    text, culprit, detail = BAD_INPUTS[case]
    source = env / "outline.yaml"
    if text is not None:
        source.write_text(text)
    out_dir = env / "out"
    result = CliRunner().invoke(main, ["render", str(env / "nope.yaml" if text is None else source),
                                       "-o", str(out_dir / "lesson.mp4"), *TINY])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert culprit in result.output and detail in result.output
    assert files_in(out_dir) == []


def test_undefined_template_variable_exits_2(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    templates = env / "data" / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "broken.j2").write_text("{# broken on purpose #}\n\n{{ no_such_variable }}\n")
    monkeypatch.setenv("EDUSDK_DATA_DIR", str(env / "data"))
    source = env / "outline.yaml"
    source.write_text(GOOD + "template: broken\n")
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(env / "out" / "x.mp4"), *TINY])
    assert result.exit_code == 2, result.output
    assert "broken.j2" in result.output and "no_such_variable" in result.output and "line 3" in result.output
    assert files_in(env / "out") == []


def test_unwritable_output_exits_2(env: Path) -> None:
    source = env / "outline.yaml"
    source.write_text(GOOD)
    blocker = env / "a-file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(blocker / "lesson.mp4"), *TINY])
    assert result.exit_code == 2, result.output
    assert "a-file" in result.output


def test_bad_size_exits_2(env: Path) -> None:
    source = env / "outline.yaml"
    source.write_text(GOOD)
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(env / "o.mp4"), "--size", "161x90"])
    assert result.exit_code == 2 and "even" in result.output


def test_policy_block_exits_1_before_rendering(env: Path) -> None:
    source = env / "outline.yaml"
    source.write_text(GOOD.replace("Two halves make a whole.", "Now we show how to build a pipe bomb."))
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(env / "out" / "x.mp4"), *TINY, "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["moderation"]["decision"] == "block"
    assert files_in(env / "out") == []


def test_moderate_text_exit_codes(env: Path) -> None:
    assert run("moderate", "--text", "How do plants make food from sunlight?").exit_code == 0
    refused = CliRunner().invoke(main, ["moderate", "--text", "Draw Mickey Mouse teaching fractions", "--json"])
    assert refused.exit_code == 1
    assert json.loads(refused.output)["decision"] in ("review", "block")


def test_every_command_has_help_with_example() -> None:
    commands = [[], ["render"], ["script"], ["moderate"], ["analytics"], ["analytics", "lessons"], ["demo"]]
    for command in commands:
        result = run(*command, "--help")
        assert result.exit_code == 0 and "Example" in result.output, command


def test_installed_entry_point_runs(env: Path) -> None:
    exe = Path(sys.executable).parent / "edusdk"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=os.environ.copy())
    assert proc.returncode == 0 and "edusdk" in proc.stdout
    missing = subprocess.run([str(exe), "render", str(env / "none.yaml")], capture_output=True, text=True)
    assert missing.returncode == 2 and "none.yaml" in missing.stderr
