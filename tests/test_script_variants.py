"""Variables and variants: the cartesian product with excludes and seeded sampling, `${name}` substitution,
values carried into scripts, stable variant ids, and `edusdk script --variants --json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edusdk import EduClient
from edusdk._errors import OutlineError
from edusdk.cli import main
from edusdk.models.outline import Outline
from edusdk.script import apply_variables, count_variants, expand, variant_id, variants
from edusdk.script.matrix import substitute

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "examples" / "outlines" / "fractions-matrix.yaml"


def matrix_outline(**variants_block: Any) -> Outline:
    return Outline.from_data(
        {
            "title": "Sharing with ${hero}",
            "subject": "math",
            "cast": [{"name": "${hero}", "look": "a child in ${colour}"}],
            "variants": {"variables": {"hero": ["Mia", "Omar", "Ada"], "colour": ["red", "blue"]}, **variants_block},
            "sections": [
                {"title": "Halves", "narration": "${hero} cuts an apple in half.", "visual_hints": ["${hero}"]}
            ],
        }
    )


def test_the_matrix_example_has_108_variants_in_a_deterministic_order() -> None:
    source = Outline.from_file(MATRIX)
    first, again = variants(source), variants(source)
    assert len(first) == count_variants(source) == 108
    assert [o.variables for o in first] == [o.variables for o in again]
    assert first[0].variables["protagonist"] == "Mia" and first[-1].variables["protagonist"] == "Ada"
    assert first[1].variables["time_of_day"] != first[0].variables["time_of_day"]  # the last changes fastest
    ids = [variant_id(o.variables) for o in first]
    assert len(set(ids)) == 108 and all(i.startswith("v-") for i in ids)
    assert len({o.content_hash() for o in first}) == 108
    for o in first[:3]:
        assert o.variants is None and "${" not in o.title and o.title.endswith(str(o.variables["protagonist"]))


def test_values_reach_prompts_narration_and_script_variables() -> None:
    scripts = EduClient().scripts.variants(Outline.from_file(MATRIX))
    assert len(scripts) == 108
    one = scripts[40]
    values = one.variables
    assert all(shot.variables == values for shot in one.shots)
    assert str(values["protagonist"]) in one.shots[0].narration
    assert f"{values['protagonist']}, a cheerful" in one.bible and str(values["outfit"]) in one.bible
    assert f"Setting: {values['setting']}, {values['time_of_day']}." in one.shots[0].prompt
    assert len({s.shots[0].seed for s in scripts}) == 108  # every variant gets its own seeds


def test_excludes_and_seeded_sampling() -> None:
    excluded = variants(matrix_outline(exclude=[{"hero": "Omar"}, {"hero": "Ada", "colour": "blue"}]))
    assert [(o.variables["hero"], o.variables["colour"]) for o in excluded] == [
        ("Mia", "red"), ("Mia", "blue"), ("Ada", "red"),
    ]  # fmt: skip
    sampled = [o.variables for o in variants(matrix_outline(sample=3, seed=5))]
    assert sampled == [o.variables for o in variants(matrix_outline(sample=3, seed=5))]
    assert len(sampled) == 3 and len({json.dumps(v, sort_keys=True) for v in sampled}) == 3
    others = [[o.variables for o in variants(matrix_outline(sample=3, seed=s))] for s in range(6)]
    assert any(o != sampled for o in others)
    order = [o.variables for o in variants(matrix_outline())]
    assert sorted(sampled, key=order.index) == sampled  # kept in product order


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ({"exclude": [{"hero": "Zed"}]}, "exclude[0].hero"),
        ({"exclude": [{"size": "big"}]}, "exclude[0].size"),
        ({"exclude": [{"hero": "Mia"}, {"hero": "Omar"}, {"hero": "Ada"}]}, "variants.exclude"),
        ({"sample": 7}, "variants.sample"),
    ],
)
def test_bad_matrices_name_the_field(block: dict[str, Any], field: str) -> None:
    with pytest.raises(OutlineError) as err:
        variants(matrix_outline(**block))
    assert field in str(err.value)


def test_bad_variable_declaration_is_an_outline_error() -> None:
    with pytest.raises(OutlineError, match=r"variants\.variables"):
        Outline.from_data({"title": "t", "subject": "s", "sections": [{"title": "a", "narration": "b"}],
                           "variants": {"variables": {"Bad Name": ["x"]}}})  # fmt: skip


def test_substitution_is_plain_and_unknown_names_are_errors() -> None:
    assert substitute("${a} and $${a} and ${ a }", {"a": 1}) == "1 and ${a} and 1"
    assert substitute("{{ a }} {% x %} $5", {"a": 1}) == "{{ a }} {% x %} $5"  # no template language here
    with pytest.raises(OutlineError, match=r"unknown variable \$\{b\}"):
        substitute("${b}", {"a": 1})
    source = Outline.from_data({"title": "t", "subject": "s", "variables": {"a": "x"},
                                "sections": [{"title": "a", "narration": "Hi ${who}."}]})  # fmt: skip
    with pytest.raises(OutlineError, match=r"sections\[0\]\.narration: unknown variable \$\{who\}"):
        expand(source)


def test_a_matrix_outline_expands_as_its_first_variant_and_plain_outlines_are_untouched() -> None:
    source = matrix_outline()
    assert expand(source).variables == variants(source)[0].variables == {"hero": "Mia", "colour": "red"}
    plain = Outline.from_file(ROOT / "examples" / "outlines" / "photosynthesis.yaml")
    assert apply_variables(plain) is plain and variants(plain)[0].content_hash() == plain.content_hash()


def test_variant_ids_depend_on_values_only() -> None:
    assert variant_id({"a": 1, "b": "x"}) == variant_id({"b": "x", "a": 1})
    assert variant_id({"a": 1}) != variant_id({"a": "1"}) != variant_id({"a": 2})


def test_cli_script_variants_json_lists_every_variant(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["script", str(MATRIX), "--variants", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert isinstance(listed, list) and len(listed) == 108
    assert all(item["variant_id"] == variant_id(item["variables"]) for item in listed)
    assert listed[0]["variables"]["protagonist"] == "Mia" and listed[0]["shots"][0]["variables"]
    usage = CliRunner().invoke(main, ["script", str(MATRIX), "--variants", "-o", str(tmp_path / "x.yaml")])
    assert usage.exit_code == 2 and not (tmp_path / "x.yaml").exists()
