"""Policy packs and text/script checks against the shipped k12 and higher_ed packs, and against small packs
written to a temporary moderation folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from edusdk._errors import BadInputError
from edusdk.models.script import OnScreen, Script, Shot
from edusdk.moderation import CATEGORIES, Blocklist, Policy, check_script, check_text

SAFE_SHOTS = [
    Shot(
        id="intro",
        section=0,
        prompt="A sunlit classroom; a green leaf under a magnifying glass, soft morning light",
        narration="Today we learn how plants make their food from sunlight, water and air.",
        on_screen=OnScreen(title="Photosynthesis", points=["Light energy", "Chlorophyll", "Glucose"]),
        duration_s=6,
        seed=1,
    ),
    Shot(
        id="cells",
        section=1,
        prompt="An animated diagram of cell division: one cell splits into two identical cells",
        narration="Sex cells are made by meiosis; sexual reproduction mixes the genes of two parents. "
        "Teachers in Essex assess this in the class test.",
        on_screen=OnScreen(title="Cell division", points=["Mitosis", "Meiosis makes sex cells"]),
        duration_s=8,
        seed=2,
    ),
    Shot(
        id="history",
        section=2,
        prompt="A sepia map of Europe in 1914 with the city of Sarajevo marked",
        narration="The killing of the Archduke in Sarajevo set off the First World War.",
        duration_s=7,
        seed=3,
    ),
]


def make_script(*shots: Shot, title: str = "How living things grow") -> Script:
    return Script(
        title=title,
        subject="biology",
        audience="grade 7",
        style="storyboard",
        template="lesson",
        outline_hash="0" * 16,
        shots=list(shots),
    )


def with_shot(index: int, **changes: object) -> Script:
    shots = list(SAFE_SHOTS)
    shots[index] = shots[index].model_copy(update=changes)
    return make_script(*shots)


@pytest.fixture(scope="module")
def higher_ed() -> Policy:
    return Policy.load("higher_ed")


def write_pack(root: Path, name: str, text: str) -> None:
    (root / "policies").mkdir(parents=True, exist_ok=True)
    (root / "policies" / f"{name}.yaml").write_text(text, encoding="utf-8")


def write_blocklist(root: Path, name: str, text: str) -> None:
    (root / "blocklists").mkdir(parents=True, exist_ok=True)
    (root / "blocklists" / f"{name}.yaml").write_text(text, encoding="utf-8")


# --- loading -----------------------------------------------------------------------------------------------------


def test_k12_loads_with_its_blocklists(k12: Policy) -> None:
    assert (k12.name, k12.version) == ("k12", "1")
    assert k12.blocklists == ["k12", "copyright", "public_figures"]
    assert set(k12.categories) == set(CATEGORIES)
    for category in (
        "sexual",
        "sexual/minors",
        "self-harm/instructions",
        "illicit",
        "illicit/violent",
        "hate",
        "hate/threatening",
        "violence/graphic",
    ):
        assert k12.action_for(category) == "block", category
    assert k12.action_for("copyright") == "review"
    assert k12.action_for("age_inappropriate") == "review"
    assert len(k12.terms["copyright"]) > 50
    assert all(entry.suggestion for entry in k12.terms["copyright"])


def test_shipped_blocklists_are_documented() -> None:
    for name in ("k12", "copyright", "public_figures"):
        blocklist = Blocklist.load(name)
        assert blocklist.source.strip() and blocklist.notes.strip(), name
        assert blocklist.categories, name


def test_higher_ed_extends_k12(k12: Policy, higher_ed: Policy) -> None:
    assert higher_ed.extends == "k12"
    assert higher_ed.blocklists == k12.blocklists
    assert higher_ed.terms == k12.terms
    # relaxed
    assert higher_ed.action_for("sexual") == "review"
    assert higher_ed.action_for("violence") == "allow"
    assert higher_ed.action_for("age_inappropriate") == "allow"
    # inherited unchanged
    assert higher_ed.action_for("sexual/minors") == "block"
    assert higher_ed.action_for("self-harm/instructions") == "block"
    assert higher_ed.action_for("copyright") == "review"


def test_available_lists_the_shipped_packs() -> None:
    assert {"k12", "higher_ed"} <= set(Policy.available())


def test_unknown_pack_lists_the_available_ones() -> None:
    with pytest.raises(BadInputError) as info:
        Policy.load("kindergarten")
    assert "kindergarten" in info.value.message
    assert "k12" in info.value.message and "higher_ed" in info.value.message


def test_a_path_is_not_a_pack_name() -> None:
    with pytest.raises(BadInputError, match="unknown policy pack"):
        Policy.load("../policies/k12")


def test_malformed_pack_names_the_file_and_field(tmp_path: Path) -> None:
    write_pack(tmp_path, "broken", "name: broken\nversion: 1\ncategories:\n  violence: {action: forbid}\n")
    with pytest.raises(BadInputError) as info:
        Policy.load("broken", directory=tmp_path)
    message = info.value.message
    assert str(tmp_path / "policies" / "broken.yaml") in message
    assert "categories.violence.action" in message


def test_unknown_category_is_reported(tmp_path: Path) -> None:
    write_pack(tmp_path, "typo", "version: 1\ncategories:\n  violense: {action: block}\n")
    with pytest.raises(BadInputError, match=r"typo\.yaml(.|\n)*categories\.violense"):
        Policy.load("typo", directory=tmp_path)


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    write_pack(tmp_path, "bad", "version: 1\ncategories: [unclosed\n")
    with pytest.raises(BadInputError, match=r"bad\.yaml: invalid YAML"):
        Policy.load("bad", directory=tmp_path)


def test_minors_can_never_be_relaxed(tmp_path: Path) -> None:
    write_pack(tmp_path, "lax", "version: 1\ncategories:\n  sexual/minors: {action: review}\n")
    with pytest.raises(BadInputError, match=r"lax\.yaml(.|\n)*sexual/minors"):
        Policy.load("lax", directory=tmp_path)


def test_missing_blocklist_and_extends_cycle(tmp_path: Path) -> None:
    write_pack(tmp_path, "nolist", "version: 1\nblocklists: [ghost]\n")
    with pytest.raises(BadInputError, match="unknown blocklist 'ghost'"):
        Policy.load("nolist", directory=tmp_path)
    write_pack(tmp_path, "a", "version: 1\nextends: b\n")
    write_pack(tmp_path, "b", "version: 1\nextends: a\n")
    with pytest.raises(BadInputError, match="extends itself"):
        Policy.load("a", directory=tmp_path)


def test_malformed_blocklist_names_the_file(tmp_path: Path) -> None:
    write_blocklist(tmp_path, "words", "version: 1\nsource: test\ncategories:\n  violence: [ok, {term: '  '}]\n")
    write_pack(tmp_path, "p", "version: 1\nblocklists: [words]\n")
    with pytest.raises(BadInputError) as info:
        Policy.load("p", directory=tmp_path)
    assert "words.yaml" in info.value.message and "categories.violence[1].term" in info.value.message


# --- text checks -------------------------------------------------------------------------------------------------


def test_word_boundaries(tmp_path: Path) -> None:
    write_blocklist(tmp_path, "words", "version: 1\nsource: test\ncategories:\n  sexual: [sex]\n  harassment: [ass]\n")
    write_pack(tmp_path, "strict", "version: 1\nblocklists: [words]\ncategories:\n  sexual: {action: block}\n")
    policy = Policy.load("strict", directory=tmp_path)
    for text in ("Essex", "Teachers assess the class", "sextant and sextet", "passage", "Sussex; assassin; bass"):
        assert check_text(text, policy) == [], text
    findings = check_text("Sex, and an ass.", policy, where="text")
    assert [(f.category, f.span, f.action) for f in findings] == [
        ("sexual", "Sex", "block"),
        ("harassment", "ass", "review"),
    ]
    assert all(f.where == "text" and f.check == "blocklist" for f in findings)


def test_k12_word_boundaries_on_real_terms(k12: Policy) -> None:
    assert check_text("Essex teachers assess the class; a sextant; Al Gore on climate; the naked eye", k12) == []
    assert [f.rule for f in check_text("an ass", k12)] == ["ass"]


def test_educational_phrases_pass_k12(k12: Policy) -> None:
    for text in (
        "Cell division: sex cells, sexual reproduction and reproduction in plants",
        "The killing of the Archduke started the First World War",
        "White blood cells kill germs; bamboo shoots grow fast; a shooting star",
        "Puberty and the human body; breast cancer awareness",
        "The Holocaust, slavery and segregation are part of this history unit",
        "Thor was the Norse god of thunder; the city of Miyazaki in Japan",
    ):
        assert check_text(text, k12) == [], text


def test_history_violence_is_review_not_block(k12: Policy) -> None:
    findings = check_text("The assassination of Archduke Franz Ferdinand", k12)
    assert [(f.category, f.action) for f in findings] == [("violence", "review")]


def test_copyright_is_review_with_a_rewrite(k12: Policy) -> None:
    findings = check_text("Draw Pikachu and spider man explaining fractions", k12, where="prompt")
    assert [(f.category, f.action, f.span, f.rule) for f in findings] == [
        ("copyright", "review", "Pikachu", "Pikachu"),
        ("copyright", "review", "spider man", "Spider-Man"),
    ]
    assert findings[0].suggestion == "a small yellow electric creature"
    assert findings[1].suggestion == "a masked acrobatic superhero"  # round 9: no longer describes Spider-Man


def test_case_sensitive_entries(k12: Policy) -> None:
    assert check_text("Students marvel at the night sky", k12) == []
    assert [f.rule for f in check_text("A Marvel hero", k12)] == ["Marvel"]


def test_separators_apostrophes_and_repeats(k12: Policy) -> None:
    findings = check_text("Mickey-Mouse, mickey  mouse and MickeyMouse; McDonald’s", k12)
    assert [f.rule for f in findings] == ["Mickey Mouse", "McDonald's"]  # one finding per term, however often
    assert findings[0].span == "Mickey-Mouse"
    assert [f.category for f in check_text("I’ll kill you", k12)] == ["harassment/threatening"]


def test_longest_term_wins(k12: Policy) -> None:
    assert [f.span for f in check_text("crack cocaine", k12)] == ["crack cocaine"]


def test_overlapping_categories_are_all_reported(k12: Policy) -> None:
    categories = {f.category for f in check_text("how to kill yourself", k12)}
    assert categories == {"self-harm/instructions", "harassment/threatening"}


def test_allowed_categories_are_not_reported(higher_ed: Policy) -> None:
    assert check_text("a beer after the murder mystery", higher_ed) == []
    assert [f.action for f in check_text("a beer", Policy.load("k12"))] == ["review"]


def test_empty_text(k12: Policy) -> None:
    assert check_text("", k12) == []


# --- scripts -----------------------------------------------------------------------------------------------------


def test_safe_lesson_is_allowed(k12: Policy) -> None:
    report = check_script(make_script(*SAFE_SHOTS), k12)
    assert report.decision == "allow"
    assert report.findings == []
    assert (report.policy, report.policy_version) == ("k12", "1")


def test_blocked_term_blocks_with_location(k12: Policy) -> None:
    script = with_shot(2, narration="Soldiers in a pool of blood after the battle.")
    report = check_script(script, k12)
    assert report.decision == "block"
    [finding] = report.findings
    assert (finding.where, finding.span, finding.category, finding.action) == (
        "shots[2].narration",
        "pool of blood",
        "violence/graphic",
        "block",
    )


def test_every_script_text_is_checked(k12: Policy) -> None:
    script = make_script(
        SAFE_SHOTS[0].model_copy(
            update={
                "prompt": "Pikachu in a lab",
                "on_screen": OnScreen(title="Batman explains", points=["safe", "Elsa sings"]),
                "narration": "Then Mario appears.",
                "negative_prompt": "gore, blurry",  # what must not be shown: never a finding
            }
        ),
        title="Harry Potter and the Cell",
    )
    report = check_script(script, k12)
    assert report.decision == "review"
    assert [(f.where, f.span) for f in report.findings] == [
        ("title", "Harry Potter"),
        ("shots[0].prompt", "Pikachu"),
        ("shots[0].narration", "Mario"),
        ("shots[0].on_screen.title", "Batman"),
        ("shots[0].on_screen.points[1]", "Elsa"),
    ]


def test_higher_ed_relaxes_k12_on_the_same_script(k12: Policy, higher_ed: Policy) -> None:
    script = with_shot(1, prompt="A nude figure study in charcoal, art history lecture")
    assert check_script(script, k12).decision == "block"
    report = check_script(script, higher_ed)
    assert report.decision == "review"
    assert report.policy == "higher_ed"


def test_inline_terms_and_threshold(tmp_path: Path) -> None:
    write_pack(
        tmp_path,
        "custom",
        "version: 2\nterms:\n  pii:\n    - {term: 'Room 101', suggestion: 'a classroom'}\n"
        "categories:\n  pii: {action: block, threshold: 0.5}\n",
    )
    policy = Policy.load("custom", directory=tmp_path)
    [finding] = check_text("Meet me in room 101", policy)
    assert (finding.category, finding.action, finding.suggestion, finding.score) == ("pii", "block", "a classroom", 1.0)
    assert policy.version == "2"
