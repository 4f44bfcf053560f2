"""Outline → script expansion: the shipped templates and examples, timing, seeds, and every template failure
reported as a BadInputError that names the file, the line and the culprit."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from edusdk._errors import BadInputError, OutlineError, ScriptTemplateError
from edusdk.models.outline import Outline
from edusdk.models.script import TRANSITION_NAMES, Script
from edusdk.script import apply_variables, available_templates, expand, load_styles, timing

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "outlines"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))

SENTENCE = "Water moves up from the roots through thin tubes in the stem."  # 12 words


def outline(**overrides: Any) -> Outline:
    data: dict[str, Any] = {
        "title": "Water in plants",
        "subject": "science",
        "audience": "grade 6",
        "sections": [
            {"title": "Roots", "narration": SENTENCE, "key_points": ["Roots take in water"]},
            {"title": "Stems", "narration": f"{SENTENCE} {SENTENCE}"},
            {"title": "Leaves", "narration": "Leaves let water vapour out."},
        ],
    }
    data.update(overrides)
    return Outline.from_data(data)


def write_template(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.j2"
    path.write_text(text, encoding="utf-8")
    return path


# --- the examples and the shipped templates --------------------------------------------------------


def test_examples_include_the_three_lessons_and_a_template_each() -> None:
    stems = {p.stem for p in EXAMPLE_FILES}
    assert {"photosynthesis", "printing-press", "pythagoras", "fractions-matrix"} <= stems
    templates = set(available_templates())
    assert {"explainer", "math-walkthrough"} <= templates
    used = {Outline.from_file(p).template for p in EXAMPLE_FILES}
    assert templates <= used, f"templates without an example outline: {templates - used}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_expands_with_bible_and_camera_in_every_prompt(path: Path) -> None:
    source = apply_variables(Outline.from_file(path))  # a matrix outline expands as its first variant
    script = expand(source)
    assert script.template == source.template and script.outline_hash == source.content_hash()
    assert script.variables == source.variables and all(s.variables == source.variables for s in script.shots)
    assert script.bible.startswith("Style: ")
    for shot in script.shots:
        assert script.bible in shot.prompt
        assert f"Camera: {shot.camera.describe()}." in shot.prompt
        assert "Lighting: " in shot.prompt and "Setting: " in shot.prompt
        assert "watermark" in shot.negative_prompt and "text" in shot.negative_prompt
        assert timing.MIN_SHOT_S <= shot.duration_s <= timing.MAX_SHOT_S
        assert shot.on_screen.title == source.sections[shot.section].title
        for member in source.cast:
            assert f"{member.name}, {member.look}" in shot.prompt
    for a, b in itertools.pairwise(script.shots):
        assert a.camera != b.camera, f"{a.id} and {b.id} share a camera"
        assert a.transition.duration_s < min(a.duration_s, b.duration_s)
    assert script.shots[-1].transition.name == "cut"
    assert {s.section for s in script.shots} == set(range(len(source.sections)))


def test_text_to_be_read_goes_on_screen_not_into_the_prompt() -> None:
    source = Outline.from_file(EXAMPLES / "pythagoras.yaml")
    for shot in expand(source).shots:
        for formula in shot.on_screen.formulas:
            assert formula not in shot.prompt
        assert "text saying" not in shot.prompt.lower() and "caption" not in shot.prompt.lower()
        assert source.sections[shot.section].title not in shot.prompt.split("Setting:")[0]


def test_demo_lesson_is_short_and_animates_its_reference_image() -> None:
    script = expand(Outline.from_file(EXAMPLES / "photosynthesis.yaml"))
    assert 30 <= script.duration_s <= 45
    assert [s.id for s in script.shots] == ["s01", "s02", "s03", "s04"]
    image_shots = [s for s in script.shots if s.mode == "image"]
    assert len(image_shots) == 1 and image_shots[0].on_screen.image is not None
    assert image_shots[0].on_screen.image.name == "leaf.png" and image_shots[0].on_screen.image.is_file()
    assert script.shots[0].on_screen.points == ["Sunlight", "Water", "Carbon dioxide"]
    assert "Leafy, a cheerful cartoon leaf with big round eyes and a green scarf" in script.bible
    assert [s.transition.name for s in script.shots] == ["fade", "fade", "fade", "cut"]


def test_math_walkthrough_steps_through_each_formula() -> None:
    source = Outline.from_file(EXAMPLES / "pythagoras.yaml")
    script = expand(source)
    assert len(script.shots) > len(source.sections)
    theorem = [s for s in script.shots if s.section == 1]
    steps = source.sections[1].key_points
    assert len(theorem) == 1 + len(steps)
    assert all(s.on_screen.formulas == ["a^2 + b^2 = c^2"] for s in theorem)
    # the formula first, then one step revealed per shot
    assert [s.on_screen.points for s in theorem] == [steps[:i] for i in range(len(steps) + 1)]
    assert [s.id for s in theorem] == ["s02-1", "s02-2", "s02-3", "s02-4"]
    assert [s.transition.name for s in theorem] == ["dissolve", "dissolve", "dissolve", "fade"]
    # the narration is dealt across the steps, sentence by sentence, nothing lost
    assert " ".join(s.narration for s in theorem) == " ".join(source.sections[1].narration.split())
    # a section without formulas stays one shot
    assert [s.id for s in script.shots if s.section == 0] == ["s01"]


def test_math_walkthrough_narrates_a_step_left_without_a_sentence_by_its_key_point() -> None:
    section = {"title": "Area", "narration": "Area measures the space inside a shape.", "formulas": ["A = l w"],
               "key_points": ["Measure the length", "Measure the width"]}  # fmt: skip
    script = expand(outline(sections=[section]), template="math-walkthrough")
    assert [s.narration for s in script.shots] == [
        "Area measures the space inside a shape.", "Measure the length", "Measure the width",
    ]  # fmt: skip


def test_explainer_applies_to_a_math_outline_too() -> None:
    script = expand(Outline.from_file(EXAMPLES / "pythagoras.yaml"), template="explainer")
    assert script.template == "explainer" and len(script.shots) == 4


# --- timing ------------------------------------------------------------------------------------------


def test_durations_follow_narration_length() -> None:
    script = expand(outline())
    one, two, short = script.shots
    assert two.duration_s > one.duration_s > short.duration_s
    words = timing.word_count(SENTENCE)
    assert one.duration_s == timing.round_duration(words * 60 / 145 + timing.LEAD_IN_S + timing.LEAD_OUT_S)
    assert short.duration_s == timing.MIN_SHOT_S


def test_younger_audiences_get_slower_narration() -> None:
    young = expand(outline(audience="grade 2"))
    adult = expand(outline(audience="adult"))
    # simple narration is left as written; grade 2 gets it slower and in shorter shots
    assert " ".join(s.narration for s in young.shots) == " ".join(s.narration for s in adult.shots)
    assert young.shots[0].duration_s > adult.shots[0].duration_s
    assert max(s.duration_s for s in young.shots) <= timing.max_shot_seconds(2) < timing.max_shot_seconds(None)
    assert len(young.shots) == 4 and len(adult.shots) == 3  # 24 words at 110 wpm do not fit one 12 s shot
    assert young.duration_s > adult.duration_s


@pytest.mark.parametrize(
    ("audience", "wpm"),
    [("kindergarten", 110), ("grade 2", 110), ("grade 3", 130), ("grade 8", 145), ("grade 12", 155),
     ("adult", 165), ("higher-ed", 165)],
)  # fmt: skip
def test_words_per_minute_by_audience(audience: str, wpm: int) -> None:
    assert timing.words_per_minute(outline(audience=audience).grade) == wpm


def test_long_narration_splits_at_sentences_into_several_shots() -> None:
    long = " ".join(f"Sentence number {i} tells one more short fact about the water cycle." for i in range(12))
    source = outline(sections=[{"title": "Cycle", "narration": long}, {"title": "End", "narration": "Done."}])
    script = expand(source)
    parts = [s for s in script.shots if s.section == 0]
    assert len(parts) >= 3
    assert [s.id for s in parts] == [f"s01-{i}" for i in range(1, len(parts) + 1)]
    assert all(s.duration_s <= timing.MAX_SHOT_S for s in parts)
    assert all(s.narration.endswith(".") and s.narration[0].isupper() for s in parts)  # sentence boundaries
    assert " ".join(s.narration for s in parts) == long
    assert [s.transition.name for s in parts] == ["cut"] * (len(parts) - 1) + ["fade"]
    assert max(s.duration_s for s in parts) - min(s.duration_s for s in parts) < 5  # evenly split, no stub


def test_one_overlong_sentence_splits_at_clauses() -> None:
    sentence = ", ".join(f"clause {i} with a few more words" for i in range(20)) + "."
    parts = timing.fit_narration(sentence, 110)
    assert len(parts) > 1 and " ".join(parts) == sentence
    assert all(timing.speech_seconds(p, 110) + timing.LEAD_IN_S + timing.LEAD_OUT_S <= timing.MAX_SHOT_S for p in parts)


def test_sentence_split_keeps_abbreviations() -> None:
    text = 'Gases, e.g. oxygen, leave the leaf. Dr. Ingen-Housz showed this in 1779! Was he right? "Yes." Then...'
    assert timing.split_sentences(text) == [
        "Gases, e.g. oxygen, leave the leaf.", "Dr. Ingen-Housz showed this in 1779!", "Was he right?",
        '"Yes."', "Then...",
    ]  # fmt: skip


def test_section_duration_overrides_narration() -> None:
    sections = [{"title": "A", "narration": SENTENCE, "duration_s": 12.5}, {"title": "B", "narration": SENTENCE}]
    script = expand(outline(sections=sections))
    assert script.shots[0].duration_s == 12.5
    long = " ".join([SENTENCE] * 6)
    split = expand(outline(sections=[{"title": "A", "narration": long, "duration_s": 50}]))
    assert len(split.shots) > 1 and sum(s.duration_s for s in split.shots) == pytest.approx(50)


def test_transition_shortened_to_fit_a_very_short_shot() -> None:
    sections = [{"title": "A", "narration": SENTENCE, "duration_s": 0.5}, {"title": "B", "narration": SENTENCE}]
    first = expand(outline(sections=sections)).shots[0]
    assert first.transition.name == "fade" and first.transition.duration_s == 0.2


def test_section_transition_is_used_into_the_next_section() -> None:
    sections = [{"title": "A", "narration": SENTENCE, "transition": "wipeleft"}, {"title": "B", "narration": "B."}]
    shots = expand(outline(sections=sections)).shots
    assert (shots[0].transition.name, shots[0].transition.duration_s) == ("wipeleft", 0.5)


# --- seeds, variables, cameras, styles ----------------------------------------------------------------


def test_seeds_are_deterministic_per_outline_and_shot() -> None:
    a, b = expand(outline()), expand(outline())
    assert [s.seed for s in a.shots] == [s.seed for s in b.shots]
    assert len({s.seed for s in a.shots}) == len(a.shots)
    other = expand(outline(title="Water in plants, again"))
    assert [s.seed for s in other.shots] != [s.seed for s in a.shots]


def test_variables_are_carried_and_steer_the_setting() -> None:
    variables = {"setting": "a misty rainforest", "time_of_day": "dawn", "variant": 3}
    script = expand(outline(variables=variables))
    assert script.variables == variables
    assert all(s.variables == variables for s in script.shots)
    assert all("Setting: a misty rainforest, at dawn." in s.prompt for s in script.shots)


def test_camera_hint_in_visual_hints_sets_the_first_camera_of_a_section() -> None:
    sections = [
        {"title": "A", "narration": SENTENCE, "visual_hints": ["extreme close-up of a root hair, slow zoom in"]},
        {"title": "B", "narration": SENTENCE, "visual_hints": ["the Moon's orbit seen in a wide river"]},
    ]
    a, b = expand(outline(sections=sections)).shots
    assert (a.camera.shot_size, a.camera.movement) == ("extreme-close-up", "zoom-in")
    assert a.prompt.startswith("Extreme close-up of a root hair, slow zoom in. ")
    assert b.camera != a.camera  # neither "orbit" nor "wide" counts without a camera word


def test_free_text_style_borrows_the_default_negative_prompt() -> None:
    script = expand(outline(style="linocut print in two colours"))
    assert script.bible.startswith("Style: linocut print in two colours.")
    assert script.shots[0].negative_prompt == load_styles()["default"].negative_prompt


def test_script_yaml_round_trip(tmp_path: Path) -> None:
    for path in EXAMPLE_FILES:
        script = expand(Outline.from_file(path))
        saved = tmp_path / f"{path.stem}.script.yaml"
        saved.write_text(script.to_yaml(), encoding="utf-8")
        assert Script.from_file(saved) == script


# --- errors -------------------------------------------------------------------------------------------


def test_unknown_template_lists_the_available_ones() -> None:
    with pytest.raises(ScriptTemplateError) as exc:
        expand(outline(), template="slideshow")
    assert isinstance(exc.value, BadInputError)
    assert "slideshow" in str(exc.value) and "explainer" in str(exc.value) and "math-walkthrough" in str(exc.value)


def test_template_name_cannot_escape_the_templates_dir() -> None:
    with pytest.raises(ScriptTemplateError, match="unknown template"):
        expand(outline(), template="../pyproject")


def test_unknown_transition_names_the_section_and_lists_valid_names() -> None:
    sections = [{"title": "Roots", "narration": SENTENCE}, {"title": "Stems", "narration": "S.", "transition": "swirl"}]
    with pytest.raises(OutlineError) as exc:
        expand(outline(sections=sections))
    assert isinstance(exc.value, BadInputError)
    message = str(exc.value)
    assert "sections[1].transition" in message and "'Stems'" in message and "swirl" in message
    assert all(name in message for name in TRANSITION_NAMES)


def test_undefined_variable_names_template_line_and_variable(tmp_path: Path) -> None:
    path = write_template(tmp_path, "broken", '{# a broken template #}\nbible: "b"\nshots: {{ shot_list | tojson }}\n')
    with pytest.raises(ScriptTemplateError) as exc:
        expand(outline(), template="broken", templates_dir=tmp_path)
    message = str(exc.value)
    assert str(path) in message and "line 3" in message and "'shot_list'" in message


def test_undefined_attribute_inside_a_shared_macro_names_both_files(tmp_path: Path) -> None:
    text = '{% import "_macros.j2" as m %}\n\nbible: {{ m.bible({"description": "d"}, [{"name": "x"}]) | tojson }}\n'
    path = write_template(tmp_path, "caller", text)
    with pytest.raises(ScriptTemplateError) as exc:
        expand(outline(), template="caller", templates_dir=tmp_path)
    message = str(exc.value)
    assert "_macros.j2" in message and "'look'" in message and f'"{path}", line 3' in message


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    write_template(tmp_path, "escape", "bible: {{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(ScriptTemplateError) as exc:
        expand(outline(), template="escape", templates_dir=tmp_path)
    assert "refused by the sandbox" in str(exc.value) and "escape.j2" in str(exc.value)


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write_template(tmp_path, "syntax", "bible: x\n\n{% for shot in %}\n{% endfor %}\n")
    with pytest.raises(ScriptTemplateError) as exc:
        expand(outline(), template="syntax", templates_dir=tmp_path)
    assert "syntax.j2" in str(exc.value) and "line 3" in str(exc.value) and "syntax error" in str(exc.value)


def test_invalid_shot_names_template_and_field(tmp_path: Path) -> None:
    shot = '{"section": 0, "prompt": "p", "camera": {"shot_size": "gigantic", "movement": "static"}}'
    write_template(tmp_path, "invalid", f'bible: "p"\nshots:\n  - {shot}\n')
    with pytest.raises(ScriptTemplateError) as exc:
        expand(outline(), template="invalid", templates_dir=tmp_path)
    assert "invalid.j2" in str(exc.value) and "shots[0].camera.shot_size" in str(exc.value)


def test_unquoted_output_is_reported_as_invalid_yaml(tmp_path: Path) -> None:
    write_template(tmp_path, "unquoted", "bible: {{ outline.title }}: {{ outline.subject }}\nshots: []\n")
    with pytest.raises(ScriptTemplateError, match="invalid YAML at output line 1") as exc:
        expand(outline(), template="unquoted", templates_dir=tmp_path)
    assert exc.value.hint is not None and "tojson" in exc.value.hint


@pytest.mark.parametrize(
    ("shots", "culprit"),
    [
        ('[{"section": 0, "prompt": "no bible", "camera": {"shot_size": "wide"}}]', "shots[0].prompt"),
        ('[{"section": 9, "prompt": "B", "camera": {"shot_size": "wide"}}]', "shots[0].section"),
        ('[{"section": 0, "prompt": "B", "camera": {}}, {"section": 1, "prompt": "B", "camera": {}}]',
         "shots[1].camera"),
    ],
)  # fmt: skip
def test_guarantees_every_template_must_keep(tmp_path: Path, shots: str, culprit: str) -> None:
    write_template(tmp_path, "lax", f'bible: "B"\nshots: {shots}\n')
    with pytest.raises(ScriptTemplateError) as exc:
        expand(outline(), template="lax", templates_dir=tmp_path)
    assert "lax.j2" in str(exc.value) and culprit in str(exc.value)


def test_operator_templates_dir_overrides_and_adds(tmp_path: Path) -> None:
    text = (ROOT / "templates" / "explainer.j2").read_text().replace('"fade"', '"dissolve"')
    write_template(tmp_path, "explainer", text)
    write_template(tmp_path, "my-lesson", text)
    assert {"explainer", "math-walkthrough", "my-lesson"} <= set(available_templates(tmp_path))
    script = expand(outline(), templates_dir=tmp_path)
    assert script.shots[0].transition.name == "dissolve"
    assert expand(outline(), template="my-lesson", templates_dir=tmp_path).template == "my-lesson"


def test_a_repeated_camera_hint_keeps_its_shot_size_but_changes_movement() -> None:
    long = " ".join([SENTENCE] * 8)
    sections = [{"title": "A", "narration": long, "visual_hints": ["close-up of a root hair, static camera"]}]
    shots = expand(outline(sections=sections)).shots
    assert len(shots) >= 2
    assert [s.camera.shot_size for s in shots] == ["close-up"] * len(shots)
    assert shots[0].camera.movement == "static" and shots[1].camera.movement != "static"
