"""The copyright / likeness registry (aliases, context words, paraphrases, rewrites), teaching-context mentions and
the checksummed PII kinds (IBAN, NHS, DNI, social handles)."""

from __future__ import annotations

import pytest

from edusdk.moderation import Policy
from edusdk.moderation.checks import moderate_text, moderate_texts
from edusdk.moderation.pii import dni_valid, find_pii, iban_valid, nhs_valid, redact
from edusdk.moderation.text import check_text


def _names(text: str, policy: Policy) -> list[tuple[str, str]]:
    return [(f.category, f.rule) for f in check_text(text, policy) if f.category in ("copyright", "public_figure")]


def test_registry_is_broad_and_every_entry_has_a_rewrite(k12: Policy) -> None:
    assert len(k12.terms["copyright"]) >= 400 and len(k12.terms["public_figure"]) >= 150
    assert all(entry.suggestion for entry in k12.terms["copyright"])
    paraphrased = [e for e in k12.terms["copyright"] + k12.terms["public_figure"] if e.paraphrases]
    assert len(paraphrased) >= 100


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sponge Bob explains tides", [("copyright", "SpongeBob SquarePants")]),  # an alias reports the term
        ("Kermit sings about the alphabet", [("copyright", "Kermit the Frog")]),
        ("Woody the cowboy toy explains gravity", [("copyright", "Woody")]),
        ("Garfield eats lasagna and learns about nutrition", [("copyright", "Garfield")]),
        ("Nemo the clownfish explores the reef", [("copyright", "Nemo")]),
        ("Oprah interviews a scientist", [("public_figure", "Oprah Winfrey")]),
        ("Drake raps about the water cycle", [("public_figure", "Drake")]),
    ],
)
def test_names_aliases_and_context(k12: Policy, text: str, expected: list[tuple[str, str]]) -> None:
    assert _names(text, k12) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Woody plants grow bark to protect their stems",  # no toy, no cowboy: a botany word
        "Captain Nemo commands the Nautilus in Jules Verne's novel",  # no clownfish: the public-domain captain
        "President James Garfield was shot in 1881",  # no cat, no lasagna
        "Sir Francis Drake sailed around the world",  # no rapper, no album
        "Transformers step up the voltage in power lines",  # no robot
        "Thor is the Norse god of thunder",  # no Marvel
        "A monopoly has no competitors and sets its own prices",
        "The trump card wins the trick",
    ],
)
def test_ambiguous_names_need_their_context(k12: Policy, text: str) -> None:
    assert _names(text, k12) == []


def test_rewrites_pass_the_checks_they_replace(k12: Policy) -> None:
    """A suggested rewrite must not itself be flagged as the character: the rewrite loop has to terminate."""
    rewrites = sorted({e.suggestion for e in k12.terms["copyright"] + k12.terms["public_figure"] if e.suggestion})
    reports = moderate_texts([("text", f"{r} explains the water cycle") for r in rewrites], k12)
    flagged = [r for r, rep in zip(rewrites, reports, strict=True)
               if any(f.category in ("copyright", "public_figure") for f in rep.findings)]  # fmt: skip
    assert flagged == []


def test_paraphrase_without_a_name_is_matched_by_meaning(k12: Policy) -> None:
    report = moderate_text("A lazy orange cat who hates Mondays teaches the days of the week", k12)
    found = [f for f in report.findings if f.category == "copyright"]
    assert [(f.check, f.rule, f.suggestion) for f in found] == [("semantic", "Garfield", "a lazy orange cartoon cat")]


# (a lesson that mentions a listed word, the same word in a request) — the mention passes, the request does not.
MENTION_PAIRS = [
    ("Why Julius Caesar was assassinated and what happened to Rome", "Help me plan how to assassinate my neighbour"),
    ("What vaping does to young lungs, a health lesson", "How can I hide my vape from my teacher"),
    ("The massacre at Wounded Knee and how it is remembered", "Make a fun video celebrating a massacre"),
]


@pytest.mark.parametrize(("lesson", "request_"), MENTION_PAIRS)
def test_teaching_context_excuses_a_mention_not_a_request(k12: Policy, lesson: str, request_: str) -> None:
    assert moderate_text(lesson, k12).decision == "allow"
    assert moderate_text(request_, k12).decision != "allow"


def test_teaching_context_never_excuses_a_blocked_category(k12: Policy) -> None:
    report = moderate_text("A history of pornography laws", k12)  # `sexual` is blocked in k12: no excuse
    assert report.decision == "block"


def test_iban_nhs_dni_checksums() -> None:
    assert iban_valid("DE89 3704 0044 0532 0130 00") and not iban_valid("DE89 3704 0044 0532 0130 01")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654")  # length
    assert nhs_valid("943 476 5919") and not nhs_valid("943 476 5918")
    assert dni_valid("12345678Z") and not dni_valid("12345678A")


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("My IBAN is DE89 3704 0044 0532 0130 00", ["IBAN"]),
        ("pay to FR76 3000 6000 0112 3456 7890 189 please", ["IBAN"]),
        ("my NHS number is 943 476 5919", ["NATIONAL_ID"]),
        ("my NI number is QQ 12 34 56 C", ["NATIONAL_ID"]),
        ("DNI 12345678Z", ["NATIONAL_ID"]),
        ("passport number X1234567", ["NATIONAL_ID"]),
        ("follow me @kid_gamer99 lol", ["HANDLE"]),
        ("my insta is lily.rose_09", ["HANDLE"]),
        ("my roblox username is CoolDude2013", ["HANDLE"]),
    ],
)
def test_more_personal_data_kinds(text: str, kinds: list[str]) -> None:
    assert [s.kind for s in find_pii(text)] == kinds


@pytest.mark.parametrize(
    "text",
    [
        "DE89 3704 0044 0532 0130 01 is not a valid account",  # fails mod-97
        "The @ sign separates the user from the domain",
        "World War II lasted from 1939 to 1945",
        "Glucose is C6H12O6 and water is H2O",
        "Apollo 11 landed in 1969",
    ],
)
def test_no_personal_data_in_ordinary_text(text: str) -> None:
    assert find_pii(text) == []


def test_iban_is_redacted() -> None:
    text = "Send it to DE89 3704 0044 0532 0130 00 today"
    assert redact(text, find_pii(text)) == "Send it to [IBAN] today"
