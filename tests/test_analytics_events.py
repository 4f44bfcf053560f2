"""Compact events ↔ xAPI Video Profile statements, validation reasons, pseudonyms, deterministic ids."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from edusdk.analytics import AnalyticsConfig, Event, EventError, from_xapi, to_xapi
from edusdk.analytics import events as events_module
from edusdk.analytics.events import VERBS, VIDEO_EXT, normalize

CONFIG = AnalyticsConfig(key="k1", home_page="https://school.example")
AT = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def make(kind: str, **more: Any) -> Event:
    return Event.model_validate(
        {"type": kind, "lesson_id": "frac-1", "student_id": "alice", "session_id": "sess-1", "wall_time": AT, **more}
    )


EXAMPLES = [
    make("initialize", length=120.0),
    make("play", video_time=3.5),
    make("pause", video_time=20.0, progress=0.16, played_segments="3.5[.]20"),
    make("seek", **{"from": 20.0, "to": 5.0}),
    make("complete", video_time=119.0, progress=1.0),
    make("terminate", video_time=119.5),
    make("interact", video_time=7.0),
    make("rate", rating=4),
    make("quiz_answer", question_id="q3", correct=False, answer="7/8"),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_every_event_type_round_trips_through_xapi(event: Event) -> None:
    statement = to_xapi(event, CONFIG)
    assert statement["verb"]["id"] == VERBS[event.type]
    assert statement["actor"]["account"] == {"homePage": "https://school.example", "name": "alice"}
    assert statement["context"]["extensions"][VIDEO_EXT + "session-id"] == "sess-1"
    assert statement["timestamp"] == "2025-03-01T10:00:00Z"
    uuid.UUID(statement["id"])
    back = from_xapi(statement, CONFIG)
    assert back == event.model_copy(update={"id": statement["id"]})
    # Both forms normalise to the same stored row.
    assert normalize(statement, CONFIG) == normalize(event, CONFIG)


def test_video_profile_shapes() -> None:
    seek = to_xapi(EXAMPLES[3], CONFIG)
    assert seek["result"]["extensions"] == {VIDEO_EXT + "time-from": 20.0, VIDEO_EXT + "time-to": 5.0}
    assert seek["object"] == {
        "objectType": "Activity",
        "id": "urn:edusdk:lesson:frac-1",
        "definition": {"type": "https://w3id.org/xapi/video/activity-type/video", "name": {"en-US": "frac-1"}},
    }
    assert seek["context"]["contextActivities"]["category"] == [{"id": "https://w3id.org/xapi/video"}]
    pause = to_xapi(EXAMPLES[2], CONFIG)["result"]["extensions"]
    assert pause[VIDEO_EXT + "played-segments"] == "3.5[.]20" and pause[VIDEO_EXT + "progress"] == 0.16
    assert to_xapi(EXAMPLES[0], CONFIG)["context"]["extensions"][VIDEO_EXT + "length"] == 120.0
    assert to_xapi(EXAMPLES[4], CONFIG)["result"]["completion"] is True
    quiz = to_xapi(EXAMPLES[8], CONFIG)
    assert quiz["object"]["id"] == "urn:edusdk:lesson:frac-1/question/q3"
    assert quiz["context"]["contextActivities"]["parent"] == [{"id": "urn:edusdk:lesson:frac-1"}]
    assert quiz["result"] == {"success": False, "response": "7/8"}


def test_a_configured_base_iri_names_the_activity() -> None:
    config = AnalyticsConfig(key="k1", activity_base="https://school.example/lessons/")
    statement = to_xapi(EXAMPLES[1], config)
    assert statement["object"]["id"] == "https://school.example/lessons/frac-1"
    assert from_xapi(statement, config).lesson_id == "frac-1"


def test_the_same_event_gets_the_same_id_and_an_edit_a_new_one() -> None:
    a = normalize(EXAMPLES[1].compact(), CONFIG)
    assert a == normalize(EXAMPLES[1].compact(), CONFIG)
    assert a.statement_id != normalize({**EXAMPLES[1].compact(), "video_time": 4.0}, CONFIG).statement_id
    given = str(uuid.uuid4())
    assert normalize({**EXAMPLES[1].compact(), "id": given}, CONFIG).statement_id == given


def test_student_ids_are_keyed_pseudonyms() -> None:
    row = normalize(EXAMPLES[1], CONFIG)
    assert row.student == CONFIG.pseudonym("alice") and "alice" not in row
    assert AnalyticsConfig(key="other").pseudonym("alice") != row.student
    assert len(row.student) == 64


def test_the_dev_key_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDUSDK_ANALYTICS_KEY", raising=False)
    with pytest.warns(UserWarning, match="EDUSDK_ANALYTICS_KEY"):
        AnalyticsConfig.from_env()
    monkeypatch.setenv("EDUSDK_ANALYTICS_KEY", "secret")
    monkeypatch.setenv("EDUSDK_ANALYTICS_RETENTION_DAYS", "30")
    assert AnalyticsConfig.from_env() == AnalyticsConfig(key="secret", retention_days=30)


GOOD = {"type": "play", "lesson_id": "l", "student_id": "s", "session_id": "x", "video_time": 1, "wall_time": 0}
BAD = [
    ({**GOOD, "type": "dance"}, "type: must be one of"),
    ({k: v for k, v in GOOD.items() if k != "lesson_id"}, "lesson_id: missing"),
    ({**GOOD, "video_time": -1}, "video_time: must be a finite number"),
    ({**GOOD, "video_time": "3"}, "video_time: must be a number"),
    ({**GOOD, "wall_time": "yesterday"}, "wall_time: not an ISO 8601 time"),
    ({**GOOD, "type": "seek"}, "from: missing"),
    ({**GOOD, "type": "rate", "rating": 9}, "rating: must be a finite number 0–5"),
    ({**GOOD, "type": "quiz_answer", "question_id": "q"}, "correct: must be true or false"),
    ({**GOOD, "id": "not-a-uuid"}, "id: not a UUID"),
    ({"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": VERBS["play"]}}, "actor.account.name: missing"),
    ({"actor": {"account": {"name": "s"}}, "verb": {"id": "http://x/jumped"}}, "verb.id: not a supported verb"),
    (
        {"actor": {"account": {"name": "s"}}, "verb": {"id": VERBS["play"]}, "object": {"id": "http://other/x"}},
        "object.id: not a lesson activity",
    ),
    ([1, 2], "must be a JSON object"),
]


@pytest.mark.parametrize(("payload", "reason"), BAD, ids=[r for _, r in BAD])
def test_malformed_events_say_why(payload: Any, reason: str) -> None:
    with pytest.raises(EventError, match=reason.replace("(", r"\(")):
        normalize(payload, CONFIG)


BASE = {"type": "play", "lesson_id": "frac-1", "student_id": "alice", "session_id": "s", "wall_time": 1_740_000_000}
FAST_CASES = [
    {},
    {"video_time": 3},
    {"video_time": 2.5, "id": "6F1C4B1E-0000-4000-8000-000000000000"},
    {"type": "initialize", "video_time": None},
    {"type": "complete", "video_time": 60.0, "wall_time": 1_740_000_000.5},
    {"wall_time": "2025-03-01T10:00:00+01:00", "video_time": 1.0},  # not fast: an ISO string
    {"video_time": 1.0, "progress": 0.5},  # not fast: another key
    {"video_time": True},
    {"video_time": float("nan")},
    {"video_time": -1},
    {"video_time": 1.0, "lesson_id": ""},
    {"video_time": 1.0, "session_id": 7},
    {"video_time": 1.0, "wall_time": True},
    {"video_time": 1.0, "id": "not-a-uuid"},
    {"type": "pause"},
]


def _full_path(obj: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(events_module, "_fast_compact", lambda *_: None)
        try:
            return events_module.normalize_compact(obj, CONFIG)
        except EventError as exc:
            return str(exc)


@pytest.mark.parametrize("change", FAST_CASES)
def test_the_fast_path_gives_exactly_the_full_paths_row_or_reason(
    change: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = {**BASE, **change}
    try:
        fast: Any = events_module.normalize_compact(obj, CONFIG)
    except EventError as exc:
        fast = str(exc)
    assert fast == _full_path(obj, monkeypatch)


LINE_CASES = [
    b'{"video_time": 1e999}',  # out of range for msgspec, inf for json: the full path decides
    b'{"video_time": NaN}',
    b'{"video_time": 1, "video_time": 2}',  # json keeps the last value
    b'{"lesson_id": "caf\xc3\xa9", "video_time": 4}',
    b'{"lesson_id": "caf\\u00e9", "video_time": 4}',
    b'{"student_id": "\xff\xfe", "video_time": 4}',  # not UTF-8
    b'{"id": null, "video_time": 4}',
    b'{"id": 7, "video_time": 4}',
    b'{"lesson_id": "' + b"x" * 129 + b'", "video_time": 4}',
]


@pytest.mark.parametrize(
    "line",
    [json.dumps({**BASE, **case}).encode() for case in FAST_CASES if "nan" not in repr(case)]
    + [json.dumps(BASE)[:-1].encode() + b", " + case[1:] for case in LINE_CASES],
)
def test_the_line_fast_path_gives_the_full_paths_row_or_leaves_the_line_to_it(line: bytes) -> None:
    """`normalize_line` (msgspec) either gives exactly the row of `normalize(json.loads(line))` or declines;
    it never accepts what the full path rejects, and it takes every well-formed plain event."""
    row = events_module.normalize_line(line + b"\n", CONFIG)
    plain = json.loads(line.decode("utf-8", errors="replace"))  # as ingest_file reads a line the fast path left
    try:
        full: Any = normalize(plain, CONFIG)
    except EventError as exc:
        full = str(exc)
    if row is not None:
        assert row == full
        # the ingest stages a PlainEventRow through the columns a plain event fills: the others must be empty
        assert type(row) is events_module.PlainEventRow
        assert all(getattr(row, name) is None for name in ("time_from", "time_to", "progress", "length_s", "score"))
        assert row.success is None and row.question is None and row.extra is None
    utf8 = b"\xff" not in line  # a line that is not UTF-8 is read with replacement characters, by the full path
    if utf8 and isinstance(full, events_module.EventRow) and set(plain) <= set(BASE) | {"video_time", "id"}:
        finite = all(isinstance(v, int | float) and math.isfinite(v) for k, v in plain.items() if "time" in k)
        if finite and not isinstance(plain.get("video_time"), bool):
            assert row == full, "a well-formed plain event must take the fast path"


def test_rows_carry_the_integer_keys_of_their_statement_and_student() -> None:
    row = normalize({**BASE, "video_time": 1.0}, CONFIG)
    assert row.statement_key == events_module.statement_key(row.statement_id)
    assert row.student_key == int.from_bytes(bytes.fromhex(row.student[:16]), "big", signed=True)
    assert -(2**63) <= row.statement_key < 2**63
