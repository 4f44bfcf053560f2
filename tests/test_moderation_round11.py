"""Round 11-14 small mechanisms beside the learned classifier: credentials in student text (PII), spaced-out
leetspeak with words two spaces apart (`normalise.deobfuscate`), names given to characters. Sentences written for
these tests."""

from __future__ import annotations

import pytest

from edusdk.moderation.normalise import deobfuscate
from edusdk.moderation.pii import CONTACT_KINDS, find_pii, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("my school portal login is jake.b / Summer2011! pls use it", "jake.b / Summer2011!"),
        ("mot de passe : soleil44", "soleil44"),
        ("Mi contraseña es gatito99", "gatito99"),
        ("my insta password: Luna_2012", "Luna_2012"),
        ("パスワードはneko123です", "neko123"),
    ],
)
def test_credentials_in_student_text_are_redacted(text: str, secret: str) -> None:
    """(round 11, PII) a login or password a student types is personal data: found and redacted."""
    spans = find_pii(text)
    assert [s.text for s in spans if s.kind == "CREDENTIAL"] == [secret]
    assert secret not in redact(text, spans) and "[CREDENTIAL]" in redact(text, spans)
    assert "CREDENTIAL" not in CONTACT_KINDS  # a lesson on password safety shows example passwords on purpose


@pytest.mark.parametrize(
    "text", ["my password is strong, right?", "why a password like password123 is weak", "pass the ball to Tom"]
)
def test_password_talk_without_a_secret_is_not_a_credential(text: str) -> None:
    assert [s for s in find_pii(text) if s.kind == "CREDENTIAL"] == []


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("h 0 w  t 0  m 4 k 3  a  b 0 m b for sch00l project", "how to make a bomb for school project"),
        ("k i l l  m y  t e a c h e r", "kill my teacher"),
        ("3 x 4 = 12 for year 3", "3 x 4 = 12 for year 3"),  # no two spaces between words: maths, left alone
    ],
)
def test_spaced_leetspeak_is_read_as_words(text: str, reading: str) -> None:
    assert deobfuscate(text) == reading


@pytest.mark.parametrize(
    "text",
    ["the life cycle of a butterfly with a caterpillar character named Pip", "a story about a robot called Bolt"],
)
def test_a_name_given_to_a_character_is_not_personal_data(text: str) -> None:
    """(round 14) a character, animal or toy named in the request is fiction: no NAME span."""
    assert [s for s in find_pii(text) if s.kind == "NAME"] == []


def test_a_pupil_named_in_the_same_way_still_is() -> None:
    assert [s.text for s in find_pii("a new girl named Emma Stone joined our class 4C") if s.kind == "NAME"] == [
        "Emma Stone"
    ]
