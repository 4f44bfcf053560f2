"""Analytics at scale: event ingest rate and the per-lesson / all-lesson queries, at one or several sizes.

1. Ingest: `Analytics.record` of compact events (validation, HMAC pseudonyms, duplicate checks, 50k-row
   transactions; executemany on SQLite, COPY on PostgreSQL), timed around `record` only (the events are generated
   in 500k chunks outside the timing), on a fresh SQLite file in WAL mode; on PostgreSQL too when
   EDUSDK_TEST_POSTGRES_URL is set (a throw-away schema; skipped with a printed line otherwise).
2. Queries on the store holding all the events: the retention curve and drop-off per shot of one lesson, and the
   variant comparison (completion per template-variable value, z-test, P(best)) over all lessons.
3. The raw floor: `sqlite3.executemany` of the same already-normalised rows into the same schema in one
   transaction, and into the schema before migration 0002 (UNIQUE text statement id, index on the 64-hex HMAC),
   at the smallest size up to 1 M (it holds every row in memory).
4. Reliability: 4 processes × 50,000 events (EDUSDK_BENCH_WRITER_EVENTS) into one SQLite file → the exact count.

Targets: ingest ≥ 100,000 events/s on SQLite; each query ≤ 0.5 s at 1 M events. At several sizes every measure
after the first size says how it grew (× the figure at the first size).

Run: `python -m benchmarks bench_analytics` (1 M events), or with `EDUSDK_BENCH_EVENTS=1000000,5000000`;
`python benchmarks/bench_analytics.py --events 1000000,5000000` is the same.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from edusdk.analytics import Analytics, AnalyticsConfig
from edusdk.analytics.events import normalize
from edusdk.analytics.ingest import COLUMNS, MAX_WORKERS
from edusdk.analytics.tables import ANALYTICS_TABLES
from edusdk.models.lesson import Manifest, TimelineEntry, VideoInfo
from edusdk.models.moderation import ModerationReport
from edusdk.models.script import Script, Shot

LESSONS, SHOTS, SHOT_S, STUDENTS = 100, 10, 6.0, 20_000
DEFAULT_EVENTS = 1_000_000
FLOOR_MAX_EVENTS = 1_000_000  # the floors hold every row in memory: measured at the smallest size up to this
CONFIG = AnalyticsConfig(key="bench-key")
REPEATS = 3


def manifest(index: int) -> Manifest:
    lesson_id = f"lesson-{index:03d}"
    variables: dict[str, str | int | float] = {
        "protagonist": ("robot", "kangaroo", "fox")[index % 3],
        "grade": 3 + index % 4,
    }
    shots = [
        Shot(id=f"s{i}", section=i, prompt=f"shot {i} of {lesson_id}", duration_s=SHOT_S, seed=i) for i in range(SHOTS)
    ]
    timeline = [
        TimelineEntry(
            index=i,
            shot_id=f"s{i}",
            start_s=SHOT_S * i,
            end_s=SHOT_S * (i + 1),
            visible_start_s=SHOT_S * i,
            visible_end_s=SHOT_S * (i + 1),
            prompt=f"shot {i}",
            variables={"i": i},
        )
        for i in range(SHOTS)
    ]
    length = SHOT_S * SHOTS
    return Manifest(
        lesson_id=lesson_id,
        title=f"Lesson {index}",
        outline_hash="bench",
        created_at=time.time(),  # type: ignore[arg-type]
        video=VideoInfo(
            path=Path(f"{lesson_id}.mp4"),
            duration_s=length,
            width=640,
            height=360,
            fps=24,
            frames=int(length * 24),
            codec="h264",
            size_bytes=1,
        ),
        captions=Path(f"{lesson_id}.vtt"),
        timeline=timeline,
        engine={"name": "storyboard"},
        moderation=ModerationReport(policy="k12", policy_version="1"),
        script=Script(
            title=f"Lesson {index}",
            subject="math",
            audience="grade 4",
            style="storyboard",
            template="lesson",
            outline_hash="bench",
            variables=variables,
            shots=shots,
        ),
    )


def events(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`n` compact events: sessions of play/pause runs with a seek now and then, dropping off at random."""
    rng = random.Random(seed)
    made, session, length = 0, 0, SHOT_S * SHOTS
    while made < n:
        session += 1
        lesson = f"lesson-{rng.randrange(LESSONS):03d}"
        student = f"student-{rng.randrange(STUDENTS)}"
        stop = length if rng.random() < 0.35 else rng.uniform(1, length)
        t, at = 0.0, 1_740_000_000.0 + session * 7
        base = {"lesson_id": lesson, "student_id": student, "session_id": f"sess-{session}"}
        while t < stop and made < n:
            end = min(stop, t + rng.uniform(5, 25))
            yield {**base, "type": "play", "video_time": round(t, 2), "wall_time": at}
            yield {
                **base,
                "type": "complete" if end >= length else "pause",
                "video_time": round(end, 2),
                "wall_time": at + end - t,
            }
            made += 2
            at += end - t + 1
            t = end


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# analytics_events before migration 0002: the text statement id UNIQUE, the 64-hex student HMAC indexed.
OLD_COLUMNS = [c for c in COLUMNS if c not in ("statement_key", "student_key")]
OLD_SCHEMA = [
    "CREATE TABLE analytics_events (id INTEGER PRIMARY KEY, statement_id VARCHAR(36) NOT NULL UNIQUE, "
    + ", ".join(f"{c} {'FLOAT' if c == 'timestamp' else ''}" for c in OLD_COLUMNS[1:])
    + ")",
    "CREATE INDEX ix_analytics_events_lesson ON analytics_events (lesson_id)",
    "CREATE INDEX ix_analytics_events_student ON analytics_events (student)",
]


def raw_sqlite_baseline(path: Path, rows: list[tuple[Any, ...]], *, old_schema: bool = False) -> float:
    """The floor: the same rows, the same schema and indexes (the current one, or the one before 0002), one
    executemany in one transaction."""
    columns = OLD_COLUMNS if old_schema else list(COLUMNS)
    if old_schema:
        with sqlite3.connect(path) as setup:
            for ddl in OLD_SCHEMA:
                setup.execute(ddl)
        rows = [row[: len(columns)] for row in rows]  # the key columns are the last two
    else:
        engine = create_engine(f"sqlite:///{path}")
        from sqlmodel import SQLModel

        SQLModel.metadata.create_all(engine, tables=ANALYTICS_TABLES)
        engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    marks = ", ".join("?" * len(columns))
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO analytics_events ({', '.join(columns)}) VALUES ({marks})", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


CHUNK = 500_000  # events generated per record() call: the timing covers record() only, memory stays bounded


def register_lessons(store: Analytics) -> None:
    for i in range(LESSONS):
        m = manifest(i)
        store.register_lesson(m, manifest_path=Path(f"{m.lesson_id}.json"))


def ingest(store: Analytics, n: int) -> float:
    """Seconds `store.record` takes for the `n` benchmark events (generated outside the timing, in chunks)."""
    register_lessons(store)
    stream, elapsed, stored = events(n), 0.0, 0
    while chunk := list(itertools.islice(stream, CHUNK)):
        took, result = timed(lambda chunk=chunk: store.record(chunk))  # type: ignore[misc]
        elapsed += took
        stored += result.stored
    assert stored == n, stored
    return elapsed


def queries(store: Analytics, n: int, backend: str = "") -> list[dict[str, Any]]:
    """Median seconds of the three queries on the store holding `n` events."""
    lesson = "lesson-042"
    out = []
    for name, fn in [
        ("retention curve, one lesson", lambda: store.retention(lesson)),
        ("drop-off per shot, one lesson", lambda: store.dropoff(lesson)),
        ("variant comparison, all lessons", lambda: store.compare("protagonist")),
    ]:
        times = [timed(fn)[0] for _ in range(REPEATS)]
        out.append(
            {
                "measure": f"{backend}{name}, {n:,} events",
                "value": statistics.median(times),
                "unit": "s",
                "target": "≤ 0.5",
                "key": backend + name,
                "size": n,
            }
        )
    return out


def _writer(url: str, worker: int, n: int) -> None:
    warnings.simplefilter("ignore")
    with Analytics(url, config=CONFIG) as store:
        batch = ({**e, "session_id": f"w{worker}-{e['session_id']}"} for e in events(n, seed=worker))
        result = store.record(batch)
    if result.stored != n:
        raise SystemExit(f"writer {worker}: {result.as_json()}")


def concurrent_writers(tmp: str, per_writer: int, writers: int = 4) -> dict[str, Any]:
    """`writers` processes × `per_writer` events into one SQLite file: the exact count, and the rate."""
    url = str(Path(tmp) / "shared.db")
    Analytics(url, config=CONFIG).engine  # noqa: B018 (create the tables once)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, w, per_writer)) for w in range(writers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    with Analytics(url, config=CONFIG) as store, store.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM analytics_events")).scalar_one()
    exact = stored == writers * per_writer and all(p.exitcode == 0 for p in procs)
    return {
        "measure": f"{writers} processes × {per_writer:,} events, one SQLite file",
        "value": writers * per_writer / elapsed,
        "unit": "events/s",
        "target": "exact" if exact else f"LOST: {stored:,}",
    }


def sizes() -> list[int]:
    """The event counts to measure: `EDUSDK_BENCH_EVENTS`, one number or several (`1000000,5000000`)."""
    value = os.environ.get("EDUSDK_BENCH_EVENTS", str(DEFAULT_EVENTS))
    try:
        return [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"EDUSDK_BENCH_EVENTS must be numbers separated by commas, got {value!r}") from None


def floors(n: int) -> list[dict[str, Any]]:
    """The raw sqlite3 floors of `n` events: the current schema, and the one before migration 0002."""
    rows = [tuple(normalize(e, CONFIG)) for e in events(n)]
    with tempfile.TemporaryDirectory() as tmp:
        floor = raw_sqlite_baseline(Path(tmp) / "raw.db", rows)
        old_floor = raw_sqlite_baseline(Path(tmp) / "raw-old.db", rows, old_schema=True)
    return [
        {"measure": f"raw sqlite3 floor, current schema, {n:,} events", "value": n / floor, "unit": "events/s"},
        {
            "measure": "raw floor, schema before 0002 (text UNIQUE id + student index)",
            "value": n / old_floor,
            "unit": "events/s",
            "target": "(reference)",
        },
    ]


def file_ingest(tmp: str, n: int) -> list[dict[str, Any]]:
    """`edusdk analytics ingest FILE.jsonl` (`Analytics.ingest_file`) of the `n` events written as JSON lines
    (outside the timing), into a fresh SQLite file: in one process, and split between worker processes (the
    default for a file this size, when it is; the timing includes starting them)."""
    path = Path(tmp) / "events.jsonl"
    stream = events(n)
    with path.open("w") as handle:
        while chunk := list(itertools.islice(stream, CHUNK)):
            handle.write("".join(json.dumps(e) + "\n" for e in chunk))
    rows = []
    for workers, label in ((1, "one process"), (MAX_WORKERS, f"{MAX_WORKERS} worker processes")):
        with Analytics(str(Path(tmp) / f"file-{workers}.db"), config=CONFIG) as store:
            register_lessons(store)
            elapsed, result = timed(lambda store=store, w=workers: store.ingest_file(path, workers=w))  # type: ignore[misc]
            assert result.stored == n, result.as_json()
        rows.append(
            {
                "measure": f"SQLite ingest of a JSON-lines file, {label}, {n:,} events",
                "value": n / elapsed,
                "unit": "events/s",
                "target": "≥ 100,000" if workers > 1 else "",
                "key": f"sqlite file ingest {workers}",
                "size": n,
            }
        )
    path.unlink()
    return rows


def sqlite_run(n: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        with Analytics(str(Path(tmp) / "store.db"), config=CONFIG) as store:
            elapsed = ingest(store, n)
            ingest_row = {"measure": f"SQLite ingest, record() in-process, {n:,} events", "value": n / elapsed}
            measured = [{**ingest_row, "unit": "events/s", "key": "sqlite ingest", "size": n}, *queries(store, n)]
        return measured + file_ingest(tmp, n)


def postgres_run(url: str, n: int) -> list[dict[str, Any]]:
    """Ingest and queries on PostgreSQL, in a throw-away schema."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with Analytics(engine=engine, config=CONFIG) as store:
            elapsed = ingest(store, n)
            rate = {"measure": f"PostgreSQL ingest, {n:,} events", "value": n / elapsed, "unit": "events/s"}
            return [{**rate, "key": "pg ingest", "size": n}, *queries(store, n, "PostgreSQL ")]
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def growth(results: list[dict[str, Any]], first: int) -> None:
    """Note on each measure at a larger size how it grew from the first size (× the time, or × the rate)."""
    base = {r["key"]: r["value"] for r in results if r.get("size") == first}
    for r in results:
        if r.get("size", first) != first and base.get(r["key"]):
            r["target"] = f"{r.get('target', '')} ({r['value'] / base[r['key']]:.2f}× the {first:,} figure)".strip()


def run(print_table: bool = True) -> list[dict[str, Any]]:
    warnings.simplefilter("ignore")
    counts = sizes()
    results: list[dict[str, Any]] = []
    pg_url = os.environ.get("EDUSDK_TEST_POSTGRES_URL")
    for n in counts:
        results += sqlite_run(n)
        if pg_url:
            results += postgres_run(pg_url, n)
    growth(results, counts[0])
    if min(counts) <= FLOOR_MAX_EVENTS:
        results += floors(min(counts))
    with tempfile.TemporaryDirectory() as tmp:
        results.append(concurrent_writers(tmp, int(os.environ.get("EDUSDK_BENCH_WRITER_EVENTS", "50000"))))
    if print_table:
        print(f"{'measure':<68} {'value':>12} {'unit':<9} {'target'}")
        for r in results:
            value = f"{r['value']:,.0f}" if r["unit"] == "events/s" else f"{r['value']:.3f}"
            print(f"{r['measure']:<68} {value:>12} {r['unit']:<9} {r.get('target', '')}")
        if not pg_url:
            print(
                "PostgreSQL: skipped (set EDUSDK_TEST_POSTGRES_URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
            )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", help="event counts, comma-separated (default: $EDUSDK_BENCH_EVENTS or 1000000)")
    args = parser.parse_args()
    if args.events:
        os.environ["EDUSDK_BENCH_EVENTS"] = args.events
    run()
