"""Playback events: the SDK's compact events and xAPI Video Profile statements, both ways, and their stored row.

A compact event is one flat JSON object::

    {"type": "pause", "lesson_id": "fractions-1", "student_id": "s-42", "session_id": "b7…",
     "video_time": 31.5, "wall_time": "2025-03-01T10:00:31Z"}

`type` is one of `initialize play pause seek complete terminate interact` (the xAPI Video Profile verbs
initialized/played/paused/seeked/completed/terminated/interacted) or `rate` (`rating` 1–5, verb
`http://id.tincanapi.com/verb/rated`) or `quiz_answer` (`question_id`, `correct`, optional `answer`; verb
`http://adlnet.gov/expapi/verbs/answered`). `seek` carries `from`/`to` instead of `video_time`. `id` (a UUID) is
optional: without it the statement id is derived from the content, so re-sending the same event stores it once.

`to_xapi` and `from_xapi` convert between the two; `normalize` turns either into an `EventRow` (student id
replaced by its keyed pseudonym), or raises `EventError` with the reason.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
from pydantic import BaseModel, Field

from edusdk.analytics.config import AnalyticsConfig

EventType = Literal["initialize", "play", "pause", "seek", "complete", "terminate", "interact", "rate", "quiz_answer"]

VIDEO_EXT = "https://w3id.org/xapi/video/extensions/"
VIDEO_CATEGORY = "https://w3id.org/xapi/video"
VIDEO_ACTIVITY_TYPE = "https://w3id.org/xapi/video/activity-type/video"
XAPI_VERSION = "1.0.3"
VERBS: dict[str, str] = {
    "initialize": "http://adlnet.gov/expapi/verbs/initialized",
    "play": "https://w3id.org/xapi/video/verbs/played",
    "pause": "https://w3id.org/xapi/video/verbs/paused",
    "seek": "https://w3id.org/xapi/video/verbs/seeked",
    "complete": "http://adlnet.gov/expapi/verbs/completed",
    "terminate": "http://adlnet.gov/expapi/verbs/terminated",
    "interact": "http://adlnet.gov/expapi/verbs/interacted",
    "rate": "http://id.tincanapi.com/verb/rated",
    "quiz_answer": "http://adlnet.gov/expapi/verbs/answered",
}
VERB_TYPES = {iri: name for name, iri in VERBS.items()}
_TIMED = {"play", "pause", "complete", "terminate", "interact"}
_MAX_ID = 128
# The fast path of `normalize_compact` takes only these kinds and keys; anything else takes the full path.
_FAST_KINDS = frozenset(("initialize", "play", "pause", "complete", "terminate", "interact"))
_FAST_KEYS = frozenset(("type", "lesson_id", "student_id", "session_id", "wall_time", "video_time", "id"))
_INF = math.inf
_TWO_63, _TWO_64 = 1 << 63, 1 << 64
_sha256 = hashlib.sha256
_new_row = tuple.__new__
_NONES = (None,) * 7
_NONE_REPRS = ", ".join(map(repr, _NONES))


class EventError(ValueError):
    """An event that cannot be stored; the message is the reason, naming the field."""


class Event(BaseModel):
    """One compact playback event (see the module docstring for the JSON shape).

    Example:
        >>> Event(type="play", lesson_id="fractions-1", student_id="s-42", session_id="a1", video_time=0,
        ...       wall_time=datetime(2025, 3, 1, tzinfo=UTC))
    """

    type: EventType
    lesson_id: str = Field(min_length=1, max_length=_MAX_ID)
    student_id: str = Field(min_length=1)
    session_id: str = Field(min_length=1, max_length=_MAX_ID)
    wall_time: datetime
    video_time: float | None = Field(default=None, ge=0)
    time_from: float | None = Field(default=None, ge=0, alias="from")
    time_to: float | None = Field(default=None, ge=0, alias="to")
    length: float | None = Field(default=None, ge=0)
    progress: float | None = Field(default=None, ge=0, le=1)
    rating: float | None = Field(default=None, ge=1, le=5)
    question_id: str | None = None
    correct: bool | None = None
    answer: str | None = None
    played_segments: str | None = None
    id: str | None = None

    model_config = {"populate_by_name": True}

    def compact(self) -> dict[str, Any]:
        """The compact JSON object (ISO wall time, no empty fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class EventRow(NamedTuple):
    """An event as stored in `analytics_events` (student pseudonymised; `timestamp` in Unix seconds)."""

    statement_id: str
    body_hash: str
    lesson_id: str
    student: str
    session_id: str
    verb: str
    video_time: float | None
    time_from: float | None
    time_to: float | None
    progress: float | None
    length_s: float | None
    score: float | None
    success: bool | None
    question: str | None
    timestamp: float
    extra: str | None
    statement_key: int
    student_key: int


class PlainEventRow(EventRow):
    """An `EventRow` with none of the optional fields (seek, rating, quiz, extra): a plain playback event, as the
    fast paths (`normalize_line`, a plain compact dict) build it. Equal to the same row built as an `EventRow`; the
    ingest stages a batch of them through the columns they fill, without looking at each row."""

    __slots__ = ()


def statement_key(statement_id: str) -> int:
    """The 64-bit key stored with a (canonical, lower-case) statement id, as a signed integer: the id's first
    8 bytes when it is a version 4 (random) or 5 (hashed, as the derived ids are) UUID, whose leading bits are
    uniformly spread; else the first 8 bytes of its sha256 (time-based UUIDs share their leading bits).

    Example:
        >>> statement_key("6f1c4b1e-0000-4000-8000-000000000000")
        8006356829779017728
    """
    if statement_id[14] in "45":
        key = int(statement_id[:8] + statement_id[9:13] + statement_id[14:18], 16)
        return key - (1 << 64) if key >= 1 << 63 else key
    return int.from_bytes(hashlib.sha256(statement_id.encode("ascii")).digest()[:8], "big", signed=True)


@functools.lru_cache(maxsize=200_000)
def student_key(pseudonym: str) -> int:
    """The 64-bit key stored with a student pseudonym (hex HMAC): its first 8 bytes as a signed integer.

    Example:
        >>> student_key("80" + "0" * 62)
        -9223372036854775808
    """
    return int.from_bytes(bytes.fromhex(pseudonym[:16]), "big", signed=True)


def _text(obj: dict[str, Any], name: str, *, required: bool = True, limit: int = _MAX_ID) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise EventError(f"{name}: missing")
        return None
    if not isinstance(value, str):
        raise EventError(f"{name}: must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise EventError(f"{name}: longer than {limit} characters")
    return value


def _seconds(value: Any, name: str, *, required: bool = False, upper: float | None = None) -> float | None:
    if value is None:
        if required:
            raise EventError(f"{name}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError(f"{name}: must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (upper is not None and number > upper):
        bound = f"0–{upper:g}" if upper is not None else "≥ 0"
        raise EventError(f"{name}: must be a finite number {bound}, got {value!r}")
    return number


def _timestamp(value: Any, name: str) -> float:
    if value is None or value == "":
        raise EventError(f"{name}: missing")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise EventError(f"{name}: not an ISO 8601 time: {value!r}") from None
    else:
        raise EventError(f"{name}: must be an ISO 8601 string, got {type(value).__name__}")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _finish(
    statement_id: Any, fields: tuple[Any, ...], text: str | None = None, row_type: type[EventRow] = EventRow
) -> EventRow:
    """The row (of type `row_type`) of `fields` (`EventRow`'s content columns); its body hash is the sha256 of
    `repr(fields)`, which `text` is when given (the fast paths spell it out)."""
    digest = _sha256((repr(fields) if text is None else text).encode("utf-8")).hexdigest()
    if statement_id is None:
        # Same content → same id → stored once. A name-based (version 5, RFC 4122 variant) UUID from the digest.
        variant = "89ab"[int(digest[16], 16) & 3]
        sid = f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"
        key = int(f"{digest[:12]}5{digest[13:16]}", 16)  # = statement_key(sid), without re-parsing the id
        key = key - _TWO_64 if key >= _TWO_63 else key
        row: EventRow = _new_row(row_type, (sid, digest, *fields, key, student_key(fields[1])))
        return row
    if not isinstance(statement_id, str):
        raise EventError("id: must be a UUID string")
    try:
        sid = str(uuid.UUID(statement_id))
    except ValueError:
        raise EventError(f"id: not a UUID: {statement_id!r}") from None
    return row_type._make((sid, digest, *fields, statement_key(sid), student_key(fields[1])))


def _plain(lesson: str, student: str, session: str, kind: str, video_time: float | None, stamp: float,
           statement_id: Any) -> EventRow:  # fmt: skip
    """The row of a plain timed event (no optional field): `_finish` with `repr(fields)` written out as one
    f-string, half the time of building the tuple's repr (the fast-path tests hold them equal)."""
    fields = (lesson, student, session, kind, video_time, *_NONES, stamp, None)
    text = f"({lesson!r}, {student!r}, {session!r}, {kind!r}, {video_time!r}, {_NONE_REPRS}, {stamp!r}, None)"
    return _finish(statement_id, fields, text, PlainEventRow)


def _fast_compact(obj: dict[str, Any], config: AnalyticsConfig) -> EventRow | None:
    """The row of a plain, well-formed timed event (the bulk of any stream), checked with cheap explicit tests;
    None for anything else (the full path then validates it and gives the reason). Same row as the full path."""
    kind = obj.get("type")
    if kind not in _FAST_KINDS or not _FAST_KEYS.issuperset(obj):
        return None
    lesson, student, session = obj.get("lesson_id"), obj.get("student_id"), obj.get("session_id")
    if type(lesson) is not str or type(student) is not str or type(session) is not str:
        return None
    if not (0 < len(lesson) <= _MAX_ID and 0 < len(student) <= 256 and 0 < len(session) <= _MAX_ID):
        return None
    stamp = obj.get("wall_time")
    if type(stamp) is float or type(stamp) is int:
        stamp = float(stamp)
    else:
        return None
    video_time = obj.get("video_time")
    if type(video_time) is float or type(video_time) is int:
        video_time = float(video_time)
        if not 0.0 <= video_time < _INF:
            return None
    elif video_time is not None or kind != "initialize":
        return None
    return _plain(lesson, config.pseudonym(student), session, kind, video_time, stamp, obj.get("id"))


class _PlainEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The shape `_fast_compact` takes, as msgspec checks it while decoding (in C, from the line's bytes)."""

    type: Literal["initialize", "play", "pause", "complete", "terminate", "interact"]
    lesson_id: Annotated[str, msgspec.Meta(min_length=1, max_length=_MAX_ID)]
    student_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    session_id: Annotated[str, msgspec.Meta(min_length=1, max_length=_MAX_ID)]
    wall_time: float
    video_time: Annotated[float, msgspec.Meta(ge=0)] | None = None
    id: str | None = None


_decode_plain = msgspec.json.Decoder(_PlainEvent).decode


def normalize_line(line: bytes, config: AnalyticsConfig) -> EventRow | None:
    """The row of one JSON line holding a plain, well-formed timed event (the bulk of an exported stream), decoded
    and checked by msgspec; None for any other line (then parse it with `json` and `normalize` it, which gives the
    reason when it is bad). The same row as `normalize(json.loads(line))`.

    Example:
        >>> normalize_line(b'{"type": "play", "lesson_id": "l1", "student_id": "s1", "session_id": "a", '
        ...                b'"video_time": 0, "wall_time": 1740000000}', AnalyticsConfig()).verb
        'play'
    """
    try:
        event = _decode_plain(line)
    except (msgspec.DecodeError, UnicodeDecodeError):  # not JSON, not UTF-8, another shape or type, out of range
        return None
    video_time = event.video_time
    if (video_time is None and event.type != "initialize") or video_time == _INF:
        return None
    student = config.pseudonym(event.student_id)
    try:
        return _plain(event.lesson_id, student, event.session_id, event.type, video_time, event.wall_time, event.id)
    except EventError:  # an id that is not a UUID: the full path says so
        return None


def normalize_compact(obj: dict[str, Any], config: AnalyticsConfig) -> EventRow:
    """A compact event (dict) as a storable row; raises EventError naming the bad field."""
    fast = _fast_compact(obj, config)
    if fast is not None:
        return fast
    kind = obj.get("type")
    if kind not in VERBS:
        raise EventError(f"type: must be one of {', '.join(VERBS)}, got {kind!r}")
    lesson = _text(obj, "lesson_id")
    student = _text(obj, "student_id", limit=256)
    session = _text(obj, "session_id")
    stamp = _timestamp(obj.get("wall_time"), "wall_time")
    video_time = _seconds(obj.get("video_time"), "video_time", required=kind in _TIMED)
    time_from = _seconds(obj.get("from"), "from", required=kind == "seek")
    time_to = _seconds(obj.get("to"), "to", required=kind == "seek")
    if kind == "seek":
        video_time = time_to
    score = _seconds(obj.get("rating"), "rating", required=kind == "rate", upper=5)
    question = _text(obj, "question_id", required=kind == "quiz_answer")
    success = obj.get("correct")
    if kind == "quiz_answer" and not isinstance(success, bool):
        raise EventError("correct: must be true or false")
    answer, segments = obj.get("answer"), obj.get("played_segments")
    extra = None
    if answer is not None or segments is not None:
        extra = {k: v for k, v in (("answer", answer), ("played_segments", segments)) if v is not None}
    fields = (
        lesson,
        config.pseudonym(student or ""),
        session,
        kind,
        video_time,
        time_from,
        time_to,
        _seconds(obj.get("progress"), "progress", upper=1),
        _seconds(obj.get("length"), "length"),
        score,
        success if isinstance(success, bool) else None,
        question,
        stamp,
        json.dumps(extra, sort_keys=True) if extra else None,
    )
    return _finish(obj.get("id"), fields)


def _dict(obj: Any, name: str) -> dict[str, Any]:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise EventError(f"{name}: must be an object")
    return obj


def from_xapi(statement: dict[str, Any], config: AnalyticsConfig) -> Event:
    """The compact event of an xAPI Video Profile statement; raises EventError naming the bad field.

    Example:
        >>> from_xapi(to_xapi(event, config), config) == event.model_copy(update={"id": ...})
    """
    verb = _dict(statement.get("verb"), "verb").get("id")
    kind = VERB_TYPES.get(verb) if isinstance(verb, str) else None
    if kind is None:
        raise EventError(f"verb.id: not a supported verb: {verb!r}")
    account = _dict(_dict(statement.get("actor"), "actor").get("account"), "actor.account")
    student = account.get("name")
    if not isinstance(student, str) or not student:
        raise EventError("actor.account.name: missing (the student must be an xAPI account)")
    context = _dict(statement.get("context"), "context")
    cext = _dict(context.get("extensions"), "context.extensions")
    result = _dict(statement.get("result"), "result")
    rext = _dict(result.get("extensions"), "result.extensions")
    object_id = _dict(statement.get("object"), "object").get("id")
    question = None
    if kind == "quiz_answer":
        parents = _dict(context.get("contextActivities"), "context.contextActivities").get("parent") or [{}]
        parent = parents[0].get("id") if isinstance(parents, list) and isinstance(parents[0], dict) else None
        lesson = config.lesson_id(parent) if isinstance(parent, str) else None
        if isinstance(object_id, str) and "/question/" in object_id:
            question = object_id.rsplit("/question/", 1)[1]
    else:
        lesson = config.lesson_id(object_id) if isinstance(object_id, str) else None
    if lesson is None:
        raise EventError(f"object.id: not a lesson activity ({config.activity_id('<lesson_id>')}): {object_id!r}")
    session = cext.get(VIDEO_EXT + "session-id") or context.get("registration")
    timestamp = statement.get("timestamp")
    if timestamp is None:
        raise EventError("timestamp: missing")
    score = _dict(result.get("score"), "result.score").get("raw")
    data = {
        "type": kind,
        "lesson_id": lesson,
        "student_id": student,
        "session_id": session,
        "wall_time": timestamp,
        "video_time": rext.get(VIDEO_EXT + "time"),
        "from": rext.get(VIDEO_EXT + "time-from"),
        "to": rext.get(VIDEO_EXT + "time-to"),
        "length": cext.get(VIDEO_EXT + "length"),
        "progress": rext.get(VIDEO_EXT + "progress"),
        "rating": score,
        "question_id": question,
        "correct": result.get("success") if kind == "quiz_answer" else None,
        "answer": result.get("response"),
        "played_segments": rext.get(VIDEO_EXT + "played-segments"),
        "id": statement.get("id"),
    }
    try:
        return Event.model_validate({k: v for k, v in data.items() if v is not None})
    except ValueError as exc:
        first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
        raise EventError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def to_xapi(event: Event, config: AnalyticsConfig) -> dict[str, Any]:
    """The xAPI Video Profile statement of a compact event (actor = account, object = the lesson activity).

    Example:
        >>> to_xapi(event, AnalyticsConfig())["verb"]["id"]
        'https://w3id.org/xapi/video/verbs/played'
    """
    activity = config.activity_id(event.lesson_id)
    lesson_object = {
        "objectType": "Activity",
        "id": activity,
        "definition": {"type": VIDEO_ACTIVITY_TYPE, "name": {"en-US": event.lesson_id}},
    }
    context: dict[str, Any] = {
        "contextActivities": {"category": [{"id": VIDEO_CATEGORY}]},
        "extensions": {VIDEO_EXT + "session-id": event.session_id},
    }
    if event.length is not None:
        context["extensions"][VIDEO_EXT + "length"] = event.length
    rext: dict[str, Any] = {}
    result: dict[str, Any] = {}
    if event.type == "seek":
        rext = {VIDEO_EXT + "time-from": event.time_from, VIDEO_EXT + "time-to": event.time_to}
    elif event.video_time is not None:
        rext[VIDEO_EXT + "time"] = event.video_time
    if event.progress is not None:
        rext[VIDEO_EXT + "progress"] = event.progress
    if event.played_segments is not None:
        rext[VIDEO_EXT + "played-segments"] = event.played_segments
    if event.type == "complete":
        result["completion"] = True
    if event.rating is not None:
        result["score"] = {"raw": event.rating, "min": 1, "max": 5}
    obj: dict[str, Any] = lesson_object
    if event.type == "quiz_answer":
        obj = {
            "objectType": "Activity",
            "id": f"{activity}/question/{event.question_id}",
            "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction"},
        }
        context["contextActivities"]["parent"] = [{"id": activity}]
        result["success"] = event.correct
        if event.answer is not None:
            result["response"] = event.answer
    if rext:
        result["extensions"] = rext
    statement: dict[str, Any] = {
        "id": event.id or normalize_compact(event.compact(), config).statement_id,
        "actor": {"objectType": "Agent", "account": {"homePage": config.home_page, "name": event.student_id}},
        "verb": {"id": VERBS[event.type], "display": {"en-US": VERBS[event.type].rsplit("/", 1)[1]}},
        "object": obj,
        "context": context,
        "timestamp": event.wall_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    if result:
        statement["result"] = result
    return statement


def normalize(obj: Any, config: AnalyticsConfig) -> EventRow:
    """Either format (an `Event`, a compact dict, or an xAPI statement dict) as a storable row."""
    if isinstance(obj, Event):
        return normalize_compact(obj.compact(), config)
    if not isinstance(obj, dict):
        raise EventError(f"an event must be a JSON object, got {type(obj).__name__}")
    if "verb" in obj or "actor" in obj:
        return normalize_compact(from_xapi(obj, config).compact(), config)
    return normalize_compact(obj, config)
