"""Audience adaptation, measured: the same outline expands with easier narration (Flesch–Kincaid grade),
slower pacing and shorter shots for younger audiences; authored per-band narration wins."""

from __future__ import annotations

from typing import Any

import pytest

from edusdk.models.outline import Outline
from edusdk.script import expand, timing
from edusdk.script.readability import count_syllables, flesch_kincaid_grade, load_lexicon, simplify

# Deliberately dense narration: long sentences joined by clause joints, a few lexicon words.
DENSE = (
    "Plants utilize sunlight to produce their own food, and consequently they require water and carbon dioxide "
    "from the air around them; the leaves contain chlorophyll, which absorbs the energy of the light, and the "
    "plant transforms that energy into sugar that it stores in its roots and stems for later."
    " Additionally, the leaves release oxygen through tiny pores, so the air that animals breathe is renewed "
    "every day by numerous plants all over the world, but this process slows down considerably during winter."
)


def dense_outline(audience: str, **section: Any) -> Outline:
    return Outline.from_data(
        {
            "title": "Photosynthesis",
            "subject": "science",
            "audience": audience,
            "sections": [{"title": "How plants feed", "narration": DENSE, **section}],
        }
    )


def narration(audience: str, **section: Any) -> tuple[str, list[float]]:
    script = expand(dense_outline(audience, **section))
    return " ".join(s.narration for s in script.shots), [s.duration_s for s in script.shots]


def test_flesch_kincaid_matches_known_values() -> None:
    assert flesch_kincaid_grade("The cat sat on the mat.") == pytest.approx(-1.45, abs=0.01)
    assert flesch_kincaid_grade("") == 0.0
    hard = "Photosynthesis transforms electromagnetic radiation into chemical potential energy."
    assert flesch_kincaid_grade(hard) > 15
    assert [count_syllables(w) for w in ["cat", "water", "table", "jumped", "energy", "make"]] == [1, 2, 2, 1, 3, 1]


def test_the_same_outline_reads_easier_slower_and_in_shorter_shots_for_younger_audiences() -> None:
    text2, shots2 = narration("grade 2")
    text8, shots8 = narration("grade 8")
    adult, shots_adult = narration("adult")
    fk2, fk8, fk_adult = (flesch_kincaid_grade(t) for t in (text2, text8, adult))
    assert fk2 < fk8 < fk_adult, (fk2, fk8, fk_adult)
    assert fk_adult - fk2 > 5  # a real difference, not noise
    assert adult == " ".join(DENSE.split())  # adults get the narration as written
    # pacing: fewer words per second of video for younger audiences
    wps = [timing.word_count(t) / sum(d) for t, d in ((text2, shots2), (text8, shots8), (adult, shots_adult))]
    assert wps[0] < wps[1] < wps[2]
    # shot length: more, shorter shots for the young
    assert max(shots2) <= timing.max_shot_seconds(2) < timing.max_shot_seconds(8) <= timing.max_shot_seconds(None)
    assert len(shots2) > len(shots_adult)


def test_simplification_only_splits_and_swaps_lexicon_words() -> None:
    simple = simplify(DENSE, 2)
    lexicon = load_lexicon()
    assert "utilize" not in simple and "use sunlight" in simple and "Also, the leaves" in simple
    original = {w.strip(".,;").lower() for w in DENSE.split()}
    allowed = original | {w for v in lexicon.values() for w in v.split()} | {"that"}
    # no word appears that was neither in the text nor a lexicon replacement ("That is because" joint aside)
    assert {w.strip(".,;").lower() for w in simple.split()} <= allowed | {"is", "because"}
    # a list is never cut at its ", and"
    assert (
        simplify("We need sunlight, water, and carbon dioxide from the air to grow tall and strong.", 2).count(".") == 1
    )


def test_authored_narration_for_a_band_is_used_as_written() -> None:
    kid = "Plants make food from light. They need water and air."
    text2, _ = narration("grade 1", narration_by_band={"early-primary": kid})
    assert text2 == kid
    text8, _ = narration("grade 8", narration_by_band={"early-primary": kid})
    assert text8 != kid


def test_unknown_band_is_an_outline_error() -> None:
    from edusdk._errors import OutlineError

    with pytest.raises(OutlineError, match=r"sections\[0\]\.narration_by_band"):
        dense_outline("grade 2", narration_by_band={"toddlers": "x"})


def test_non_english_narration_is_not_simplified() -> None:
    spanish = "El agua sube por el tallo, and luego llega a las hojas verdes de la planta para producir comida."
    source = Outline.from_data({"title": "t", "subject": "s", "audience": "grade 1", "language": "es",
                                "sections": [{"title": "a", "narration": spanish}]})  # fmt: skip
    assert " ".join(s.narration for s in expand(source).shots) == spanish
