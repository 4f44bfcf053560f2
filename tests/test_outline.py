"""Outline loading: every bad input names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from edusdk import Outline, OutlineError

GOOD = """\
title: Fractions
subject: math
audience: grade 4
sections:
  - title: Halves
    narration: A half is one of two equal parts.
"""


def write(tmp_path: Path, text: str, name: str = "outline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(exc: pytest.ExceptionInfo[OutlineError]) -> dict[str, str]:
    return dict(exc.value.problems)


def test_good_outline_loads_with_defaults(tmp_path: Path) -> None:
    outline = Outline.from_file(write(tmp_path, GOOD))
    assert outline.title == "Fractions"
    assert outline.grade == 4
    assert outline.aspect == "16:9" and outline.template == "explainer"


def test_json_outline_loads(tmp_path: Path) -> None:
    text = '{"title": "T", "subject": "s", "audience": "adult", "sections": [{"title": "a", "narration": "n"}]}'
    assert Outline.from_file(write(tmp_path, text, "o.json")).grade is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OutlineError) as exc:
        Outline.from_file(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(exc.value) and "file not found" in str(exc.value)


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(OutlineError) as exc:
        Outline.from_file(write(tmp_path, "title: [unclosed\nsubject: x\n"))
    assert "outline.yaml" in str(exc.value) and "line" in str(exc.value)


def test_unknown_field_is_named(tmp_path: Path) -> None:
    with pytest.raises(OutlineError) as exc:
        Outline.from_file(write(tmp_path, GOOD + "colour: red\n"))
    assert problems(exc) == {"colour": "unknown field"}


def test_wrong_type_in_nested_field(tmp_path: Path) -> None:
    text = GOOD.replace("    narration: A half", "    key_points: 7\n    narration: A half")
    with pytest.raises(OutlineError) as exc:
        Outline.from_file(write(tmp_path, text))
    assert "sections[0].key_points" in problems(exc)


def test_empty_sections(tmp_path: Path) -> None:
    text = "title: T\nsubject: s\nsections: []\n"
    with pytest.raises(OutlineError) as exc:
        Outline.from_file(write(tmp_path, text))
    assert "sections" in problems(exc)


def test_missing_image_is_named(tmp_path: Path) -> None:
    text = GOOD + "    image: images/missing.png\n"
    with pytest.raises(OutlineError) as exc:
        Outline.from_file(write(tmp_path, text))
    assert "missing.png" in problems(exc)["sections[0].image"]


def test_image_resolves_relative_to_outline(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"\x89PNG")
    outline = Outline.from_file(write(tmp_path, GOOD + "    image: img/a.png\n"))
    assert outline.sections[0].image == (tmp_path / "img" / "a.png").resolve()


def test_bad_audience(tmp_path: Path) -> None:
    with pytest.raises(OutlineError) as exc:
        Outline.from_file(write(tmp_path, GOOD.replace("grade 4", "grade 40")))
    assert "audience" in problems(exc)


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(OutlineError) as exc:
        Outline.from_file(write(tmp_path, "title: ''\nsections: [{narration: x}]\nfoo: 1\n"))
    assert {"title", "subject", "sections[0].title", "foo"} <= set(problems(exc))


def test_content_hash_is_stable_and_sensitive(tmp_path: Path) -> None:
    a = Outline.from_file(write(tmp_path, GOOD))
    b = Outline.from_file(write(tmp_path, GOOD))
    c = Outline.from_file(write(tmp_path, GOOD.replace("equal", "same")))
    assert a.content_hash() == b.content_hash() != c.content_hash()
