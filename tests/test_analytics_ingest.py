"""Ingestion on SQLite and PostgreSQL: batches, idempotency, rejections kept, privacy (pseudonyms, forget,
export, retention), and concurrent writers on one SQLite file."""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import test_analytics_support as support
from sqlalchemy import text
from test_analytics_support import CONFIG, event, register, watch

from edusdk.analytics import Analytics
from edusdk.analytics import events as events_module
from edusdk.analytics.events import to_xapi
from edusdk.analytics.privacy import rebuild_sessions

analytics, pg_schema_engine = support.analytics, support.pg_schema_engine  # the shared fixtures


def dump_all_text(store: Analytics) -> str:
    """Every value of every analytics table, as one string (to prove raw ids are not stored)."""
    parts = []
    with store.engine.connect() as conn:
        for table in ("analytics_events", "analytics_rejected", "analytics_deletions"):
            parts += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(parts)


def count(store: Analytics, table: str = "analytics_events") -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_batch_stores_the_good_and_keeps_the_bad_with_reasons(analytics: Analytics) -> None:
    good = watch("alice", "a1", 0, 5) + watch("bob", "b1", 0, 3)
    bad = [{**good[0], "video_time": "x"}, {"type": "play", "student_id": "carol"}, 42]
    result = analytics.record([*good, *bad], batch_size=2)
    assert result.as_json()["stored"] == 4 and result.rejected == 3 and result.duplicates == 0
    reasons = [e["reason"] for e in result.errors]
    assert reasons[0].startswith("video_time: must be a number") and reasons[1] == "lesson_id: missing"
    assert [e["where"] for e in result.errors] == ["sdk[4]", "sdk[5]", "sdk[6]"]
    assert count(analytics) == 4 and count(analytics, "analytics_rejected") == 3
    everything = dump_all_text(analytics)
    assert "alice" not in everything and "carol" not in everything  # raw ids never stored, not even rejected ones
    assert CONFIG.pseudonym("carol") in everything


def test_statement_ids_are_idempotent_and_clashes_are_rejected(analytics: Analytics) -> None:
    sid = str(uuid.uuid4())
    first = {**event("play", "alice", "a1", 1.0, 0), "id": sid}
    assert analytics.record([first]).stored == 1
    again = analytics.record([first, first, to_xapi(row_event_of(first), CONFIG)])
    assert (again.stored, again.duplicates, again.rejected) == (0, 3, 0)
    clash = analytics.record([{**first, "video_time": 9.0}])
    assert clash.rejected == 1 and "already stored with a different body" in clash.errors[0]["reason"]
    assert count(analytics) == 1 and count(analytics, "analytics_rejected") == 1


def test_a_statement_key_collision_is_rejected_with_a_reason_never_dropped(
    analytics: Analytics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_module, "statement_key", lambda _sid: 42)  # every id gets the same 64-bit key
    a, b, c = ({**event("play", "alice", "a1", t, 0), "id": str(uuid.uuid4())} for t in (1.0, 2.0, 3.0))
    first = analytics.record([a, b, a])  # in one batch: a stored, b collides, a again is a duplicate
    assert (first.stored, first.duplicates, first.rejected) == (1, 1, 1)
    assert "collides with stored id " + a["id"] in first.errors[0]["reason"]
    later = analytics.record([c, a])  # against the stored row
    assert (later.stored, later.duplicates, later.rejected) == (0, 1, 1)
    assert "collides" in later.errors[0]["reason"]
    assert count(analytics) == 1 and count(analytics, "analytics_rejected") == 2


def row_event_of(compact: dict[str, Any]) -> Any:
    from edusdk.analytics import Event

    return Event.model_validate(compact)


def test_ingest_file_streams_both_formats(analytics: Analytics, tmp_path: Path) -> None:
    events = watch("alice", "a1", 0, 5)
    statements = [to_xapi(row_event_of(e), CONFIG) for e in watch("bob", "b1", 0, 4, at=50)]
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps(events[0]),
        json.dumps(statements),
        "{not json",
        "",
        json.dumps(events[1]),
        json.dumps(events[0]),
    ]
    path.write_text("\n".join(lines) + "\n")
    result = analytics.ingest_file(path, batch_size=2)
    assert result.as_json() == {
        "stored": 4,
        "duplicates": 1,
        "rejected": 1,
        "errors": [
            {
                "where": "events.jsonl:3",
                "reason": "invalid JSON: Expecting property name enclosed in double quotes (column 2)",
            }
        ],
    }
    with analytics.engine.connect() as conn:
        payload = conn.execute(text("SELECT payload FROM analytics_rejected")).scalar_one()
    assert "not json" not in payload and json.loads(payload)["unparseable_bytes"] == 10


def test_forget_export_and_retention(analytics: Analytics) -> None:
    register(analytics, "L1")
    old = [{**e, "wall_time": time.time() - 40 * 86_400} for e in watch("bob", "b0", 0, 2)]
    now = time.time()
    recent = [{**e, "wall_time": now + i} for i, e in enumerate(watch("alice", "a1", 0, 5) + watch("bob", "b1", 0, 3))]
    analytics.record([*old, *recent, {"type": "play", "lesson_id": "L1", "student_id": "alice"}])
    exported = analytics.export("alice")
    assert [s["verb"]["display"]["en-US"] for s in exported["statements"]] == ["played", "paused"]
    assert {s["actor"]["account"]["name"] for s in exported["statements"]} == {"alice"}
    assert len(exported["rejected"]) == 1 and exported["rejected"][0]["reason"] == "session_id: missing"

    assert analytics.forget("alice") == 3
    assert [g.views for g in analytics.groups("lesson")] == [2]  # alice's session is gone from the summaries too
    assert analytics.export("alice") == {"student_id": "alice", "statements": [], "rejected": []}
    assert analytics.forget("alice") == 0
    assert analytics.apply_retention() == 0  # no retention configured
    assert analytics.apply_retention(30) == 2
    assert count(analytics) == 2  # bob's recent session
    assert [g.views for g in analytics.groups("lesson")] == [1]  # session summaries rebuilt after the purge
    log = analytics.deletions()
    assert [(d["reason"], d["events"], d["rejected"]) for d in log] == [
        ("forget", 2, 1),
        ("forget", 0, 0),
        ("retention", 2, 0),
    ]
    assert log[0]["student"] == CONFIG.pseudonym("alice")


def _writer(url: str, worker: int, n: int) -> None:
    store = Analytics(url, config=CONFIG)
    events = (
        {
            "type": "play",
            "lesson_id": f"L{i % 7}",
            "student_id": f"w{worker}-s{i % 50}",
            "session_id": f"w{worker}-{i}",
            "video_time": float(i % 300),
            "wall_time": 1_740_000_000 + i,
        }
        for i in range(n)
    )
    result = store.record(events, batch_size=500)
    store.close()
    assert result.stored == n, result.as_json()


def test_four_processes_write_one_sqlite_file_exactly(tmp_path: Path) -> None:
    url = str(tmp_path / "shared.db")
    Analytics(url, config=CONFIG).engine  # create the tables once, up front  # noqa: B018
    n = 1_000  # the full 4 × 50,000 runs in benchmarks/bench_analytics.py
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(url, w, n)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    with Analytics(url, config=CONFIG) as store:
        assert count(store) == 4 * n
        again = store.record(
            {
                "type": "play",
                "lesson_id": f"L{i % 7}",
                "student_id": f"w0-s{i % 50}",
                "session_id": f"w0-{i}",
                "video_time": float(i % 300),
                "wall_time": 1_740_000_000 + i,
            }
            for i in range(100)
        )
        assert (again.stored, again.duplicates) == (0, 100)


def test_register_lesson_still_works_through_the_client_resource(analytics: Analytics) -> None:
    register(analytics, "L1", shots=2)
    assert [s.shot_id for s in analytics.shot_segments("L1")] == ["s0", "s1"]
    assert analytics.get_lesson("L1") is not None and len(analytics.list_lessons()) == 1


def _acking_writer(url: str, ack: str) -> None:
    store = Analytics(url, config=CONFIG)
    total = 0
    for batch in range(10_000):
        events = [
            {
                "type": "play",
                "lesson_id": "L1",
                "student_id": f"s{i % 9}",
                "session_id": f"b{batch}-{i}",
                "video_time": 1.0,
                "wall_time": 1_740_000_000 + batch,
            }
            for i in range(200)
        ]
        total += store.record(events).stored
        with open(ack, "a") as handle:  # acknowledged only after record() returned, i.e. after COMMIT
            handle.write(f"{total}\n")


def test_killing_a_writer_mid_batch_loses_no_acknowledged_event(tmp_path: Path) -> None:
    url, ack = str(tmp_path / "crash.db"), tmp_path / "ack.txt"
    Analytics(url, config=CONFIG).engine  # noqa: B018
    writer = multiprocessing.get_context("spawn").Process(target=_acking_writer, args=(url, str(ack)))
    writer.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not ack.exists() or len(ack.read_text().split()) < 5):
        time.sleep(0.05)
    writer.kill()  # SIGKILL: no cleanup, most likely inside a transaction
    writer.join(30)
    acknowledged = int(ack.read_text().split()[-1])
    with Analytics(url, config=CONFIG) as store:
        stored = count(store)
        assert stored >= acknowledged >= 1_000 and stored % 200 == 0  # whole batches only
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert store.record(watch("after", "x", 0, 1)).stored == 2  # the lock was released by the kill


def test_session_totals_kept_at_ingest_equal_those_rebuilt_from_the_events(analytics: Analytics) -> None:
    """Session totals are summed per batch (SQLite: while staging, outside the write lock), merged into the stored
    ones, and summed again when part of a batch was already stored; they must equal a rebuild from the events. The
    15,001-row write also takes SQLite's manual-checkpoint path (writes of 10,000 rows or more)."""
    plain = [e for i in range(5000) for e in watch(f"s{i % 50}", f"a{i % 700}", i % 40, i % 40 + 5, 3 * i, f"L{i % 3}")]
    other = []  # rows with optional fields: staged through the full-width INSERT, in the same batches
    for i in range(0, 5000, 3):
        lesson, student, session = f"L{i % 3}", f"s{i % 50}", f"a{i % 700}"
        other += [
            event("seek", student, session, None, 3 * i + 1, lesson, **{"from": float(i % 40 + 5), "to": 1.0}),
            event("complete", student, session, 44.0, 3 * i + 2, lesson, progress=1.0),
            event("rate", student, session, None, 3 * i + 2, lesson, rating=4),
        ]
    first = analytics.record(plain[:2500], batch_size=1000)
    both = analytics.record(plain + other)
    assert (first.stored, both.stored, both.duplicates, both.rejected) == (2500, 12501, 2500, 0)
    sql = text("SELECT lesson_id, session_id, student, done, reach, plays, watch, first_ts FROM analytics_sessions")
    with analytics.engine.begin() as conn:
        kept = sorted(map(tuple, conn.execute(sql)))
        rebuild_sessions(conn)
        rebuilt = sorted(map(tuple, conn.execute(sql)))
    assert len(kept) == 2100 and kept == rebuilt


def test_a_file_split_between_worker_processes_gives_what_one_process_gives(tmp_path: Path) -> None:
    sid = str(uuid.uuid4())
    lines = []
    for i in range(40):  # sessions spread over the whole file, so every part holds some of each kind
        lines += [json.dumps(e) for e in watch(f"s{i % 7}", f"s{i % 7}-a{i % 5}", i, i + 3, at=i * 10)]
        if i % 9 == 4:
            lines += ["{broken", ""]
        if i % 13 == 6:  # one id, three bodies: one is stored, the others are conflicts
            lines.append(json.dumps({**event("play", "x", "x1", 1.0, i), "id": sid, "video_time": float(i)}))
    lines.append(lines[0])  # a resend of the first event, in the last part
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines))  # no newline at the end
    results, tables = [], []
    for workers in (1, 3):
        with Analytics(str(tmp_path / f"w{workers}.db"), config=CONFIG) as store:
            results.append(store.ingest_file(path, batch_size=7, workers=workers).as_json())
            with store.engine.connect() as conn:
                events = "SELECT statement_id, lesson_id, session_id, verb, video_time, timestamp FROM analytics_events"
                sessions = "SELECT lesson_id, session_id, student, done, reach, plays, watch FROM analytics_sessions"
                tables.append([sorted(map(tuple, conn.execute(text(sql)))) for sql in (events, sessions)])
    one, three = results
    assert (
        (one["stored"], one["duplicates"], one["rejected"]) == (three["stored"], three["duplicates"], 6) == (81, 1, 6)
    )
    broken = [f"events.jsonl:{i + 1}" for i, line in enumerate(lines) if line == "{broken"]
    bodies = [f"events.jsonl:{i + 1}" for i, line in enumerate(lines) if sid in line]
    for result in results:  # errors in file order; which body of the clashing id is kept depends on commit order
        wheres = [e["where"] for e in result["errors"]]
        assert wheres == sorted(wheres, key=lambda w: int(w.rsplit(":", 1)[1]))
        assert set(broken) < set(wheres) and len(set(wheres) & set(bodies)) == 2
    assert results[0]["errors"][2]["where"] == bodies[1]  # one process: the first body is kept
    for table_one, table_three in zip(*tables, strict=True):
        assert [r for r in table_one if "x1" not in r] == [r for r in table_three if "x1" not in r]  # x1: the clash
    assert len(tables[1][0]) == len(tables[0][0]) == 81
