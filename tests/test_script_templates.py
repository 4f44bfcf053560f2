"""The template library: science-demo, history-story, language-dialogue, micro-lesson — each documented, each
with an example outline, each sharing the partials — and what each promises about its shots."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from edusdk._errors import ScriptTemplateError
from edusdk.models.outline import Outline
from edusdk.script import available_templates, default_templates_dir, expand

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "outlines"
LIBRARY = ["explainer", "math-walkthrough", "science-demo", "history-story", "language-dialogue", "micro-lesson"]


def example(name: str) -> Outline:
    return Outline.from_file(EXAMPLES / f"{name}.yaml")


def with_changes(name: str, **changes: Any) -> Outline:
    data = example(name).model_dump(mode="json")
    data.update(changes)
    return Outline.from_data(data)


@pytest.mark.parametrize("name", LIBRARY)
def test_each_template_has_a_doc_header_and_uses_the_shared_partials(name: str) -> None:
    assert name in available_templates()
    text = (default_templates_dir() / f"{name}.j2").read_text()
    assert text.startswith("{#\n  " + name + " — ")
    assert '{% import "_macros.j2" as m %}' in text and "m.bible(" in text and "m.setting(" in text
    assert (
        "describe_camera" not in text and "negative_prompt" not in text
    )  # camera wording and styles live in the partials


def test_science_demo_goes_phenomenon_mechanism_example() -> None:
    script = expand(example("why-ice-floats"))
    first, middle, last = (next(s for s in script.shots if s.section == i) for i in range(3))
    assert first.prompt.startswith("The phenomenon as it happens: ") and first.camera.shot_size in (
        "wide",
        "extreme-wide",
    )
    assert middle.prompt.startswith("Magnified cutaway view") and "close-up" in middle.camera.shot_size
    assert last.prompt.startswith("Real-world example")


def test_history_story_puts_the_period_into_every_prompt_and_needs_it() -> None:
    script = expand(example("silk-road"))
    assert "Period: the road between Chang'an and Samarkand, the 8th century" in script.bible
    assert all("Mei, a young merchant's daughter" in s.prompt and "nothing modern" in s.prompt for s in script.shots)
    assert script.shots[0].camera.shot_size == "extreme-wide" and script.shots[0].transition.name == "fadeblack"
    with pytest.raises(ScriptTemplateError, match=r"history-story\.j2.*line \d+.*needs the variable `period`"):
        expand(with_changes("silk-road", variables={}))


def test_language_dialogue_alternates_two_speakers_in_the_target_language() -> None:
    source = example("spanish-cafe")
    script = expand(source)
    assert script.language == "es"
    speakers = [s.narration.split(":")[0] for s in script.shots]
    assert speakers == ["Lucía", "Tomás", "Lucía", "Tomás"]
    assert script.shots[0].narration == "Lucía: Hola, ¿qué quieres tomar?"
    assert all(" in Spanish " in s.prompt for s in script.shots)
    assert [s.transition.name for s in script.shots] == ["cut", "fade", "cut", "cut"]
    for a, b in itertools.pairwise(script.shots):
        assert a.camera != b.camera
    with pytest.raises(ScriptTemplateError, match="needs two cast members"):
        expand(with_changes("spanish-cafe", cast=[source.cast[0].model_dump()]))


def test_micro_lesson_is_vertical_and_at_most_a_minute() -> None:
    script = expand(with_changes("micro-magnets", aspect="16:9"))
    assert script.aspect == "9:16" and script.duration_s <= 60
    assert all("Vertical 9:16 framing" in s.prompt for s in script.shots)
    assert all(s.transition.name == "cut" for s in script.shots)
    long = "Magnets have two ends called poles, and each one is either north or south. " * 5
    too_long = with_changes("micro-magnets", sections=[{"title": f"Part {i}", "narration": long} for i in range(3)])
    with pytest.raises(ScriptTemplateError, match=r"at most 60 s; .* needs \d+\.\d s at the grade 4 pace"):
        expand(too_long)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_no_prompt_asks_the_model_for_text(path: Path) -> None:
    for shot in expand(Outline.from_file(path)).shots:
        for text in [*shot.on_screen.points, *shot.on_screen.formulas]:
            assert text not in shot.prompt
        assert not re.search(r"\b(?:text saying|caption reading|written words)\b", shot.prompt, re.I)
        assert "text, letters" in shot.negative_prompt
