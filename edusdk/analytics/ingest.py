"""Event ingestion: batches of normalised rows (50,000 per transaction) written with one `executemany` on SQLite,
through COPY on PostgreSQL (never the ORM), idempotent by statement id, every rejected event kept with its reason.

Measured and left out (with benchmarks/bench_analytics.py on a 2-core machine): a writer thread
(sqlite3 takes the GIL back after every row's step, so it overlapped nothing and ran slower) and normalising in
a worker process (pickling the events there and the rows back cost the parent most of what it saved).

Duplicates are found through the 64-bit `statement_key` (unique index; each batch is inserted in key order).
Two different ids with the same key (a 2^-64 chance per pair) are never silently merged: the later one is
rejected with a reason naming both ids.

SQLite batches run under `BEGIN IMMEDIATE` (the write lock is taken before the duplicate check, so the check and
the insert are one atomic step and a reader never has to upgrade its lock) and are retried when another process
holds the lock past the busy timeout: "database is locked" never reaches the caller. A batch is acknowledged
(counted in the result) only after its COMMIT returned.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from edusdk._errors import BadInputError
from edusdk.analytics.config import AnalyticsConfig
from edusdk.analytics.events import Event, EventError, EventRow, normalize

# Rows per transaction: the random statement- and student-key indexes rewrite about the same pages whatever the
# batch size, so larger batches amortise them (10k → 50k: about 1.5× the raw insert rate at 1 M rows).
BATCH_SIZE = 50_000
MAX_ERRORS_REPORTED = 100  # counts stay exact; the list of reasons is capped so memory stays constant
_CHECK_CHUNK = 500
_LOCK_RETRIES = 50
COLUMNS = EventRow._fields
Outcome = Literal["stored", "duplicate", "conflict"]
_BY_KEY = attrgetter("statement_key")
_PG_STAGE_TABLE = "edusdk_events_stage"
_PG_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_PG_STAGE_TABLE} ON COMMIT DROP AS "
    f"SELECT {', '.join(COLUMNS)} FROM analytics_events WITH NO DATA"
)
_PG_COPY = f"COPY {_PG_STAGE_TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
_PG_MOVE = (
    f"INSERT INTO analytics_events ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM {_PG_STAGE_TABLE} "
    "ORDER BY statement_key ON CONFLICT (statement_key) DO NOTHING"
)


def conflict_reason(row: EventRow, stored_id: str) -> str:
    """Why `row` was rejected: its id holds a different body, or another id holds its statement key."""
    if stored_id == row.statement_id:
        return f"id {row.statement_id} already stored with a different body"
    return f"id {row.statement_id}: statement key collides with stored id {stored_id}; send it with another id"


@dataclass
class IngestResult:
    """What happened to a batch or a file: `stored + duplicates + rejected` = events seen."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, where: str, reason: str, statement_id: str | None = None) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_REPORTED:
            self.errors.append({"where": where, "reason": reason, **({"id": statement_id} if statement_id else {})})

    def as_json(self) -> dict[str, Any]:
        """The CLI contract: `{"stored", "duplicates", "rejected", "errors"}`."""
        return {"stored": self.stored, "duplicates": self.duplicates, "rejected": self.rejected, "errors": self.errors}


@dataclass
class Rejection:
    """A rejected event as kept in `analytics_rejected` (student ids already pseudonymised)."""

    source: str
    reason: str
    payload: str
    statement_id: str | None = None
    student: str | None = None


def scrub(obj: Any, config: AnalyticsConfig) -> tuple[str, str | None]:
    """`obj` as JSON with the raw student id replaced by its pseudonym, and that pseudonym (raw ids never stored)."""
    if isinstance(obj, Event):
        obj = obj.compact()
    if not isinstance(obj, dict):
        return json.dumps(obj, default=str)[:10_000], None
    copy = dict(obj)
    student = None
    if isinstance(copy.get("student_id"), str):
        student = copy["student_id"] = config.pseudonym(copy["student_id"])
    actor = copy.get("actor")
    if isinstance(actor, dict) and isinstance(actor.get("account"), dict):
        account = dict(actor["account"])
        if isinstance(account.get("name"), str):
            student = account["name"] = config.pseudonym(account["name"])
        copy["actor"] = {**actor, "account": account}
    return json.dumps(copy, default=str, sort_keys=True)[:100_000], student


def unparseable(line: str) -> str:
    """What is kept of a line that is not JSON: its size and hash, never its text (it may hold a raw student id)."""
    return json.dumps({"unparseable_bytes": len(line), "sha256": hashlib.sha256(line.encode()).hexdigest()})


class Ingestor:
    """Writes normalised events into `analytics_events` on SQLite or PostgreSQL.

    Example:
        >>> result = Ingestor(store.engine, AnalyticsConfig()).record([{"type": "play", ...}])
        >>> result.as_json()
        {'stored': 1, 'duplicates': 0, 'rejected': 0, 'errors': []}
    """

    def __init__(self, engine: Engine, config: AnalyticsConfig) -> None:
        self.engine = engine
        self.config = config
        self._sqlite = engine.dialect.name == "sqlite"
        mark = "?" if self._sqlite else "%s"
        self._insert = (
            f"INSERT INTO analytics_events ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * len(COLUMNS))}) "
            "ON CONFLICT (statement_key) DO NOTHING"
        )
        self._reject = (
            "INSERT INTO analytics_rejected (received_at, source, reason, statement_id, student, payload) "
            f"VALUES ({', '.join([mark] * 6)})"
        )
        self._mark = mark
        self._sessions = (
            "INSERT INTO analytics_sessions (lesson_id, session_id, student, done, reach, plays, watch, first_ts) "
            f"VALUES ({', '.join([mark] * 8)}) ON CONFLICT (lesson_id, session_id) DO UPDATE SET "
            "done = CASE WHEN excluded.done > s.done THEN excluded.done ELSE s.done END, "
            "reach = CASE WHEN s.reach IS NULL OR excluded.reach > s.reach THEN excluded.reach ELSE s.reach END, "
            "plays = s.plays + excluded.plays, watch = s.watch + excluded.watch, "
            "first_ts = CASE WHEN excluded.first_ts < s.first_ts THEN excluded.first_ts ELSE s.first_ts END"
        ).replace("INSERT INTO analytics_sessions ", "INSERT INTO analytics_sessions AS s ")

    def record(self, events: Iterable[Any], *, source: str = "sdk", batch_size: int = BATCH_SIZE) -> IngestResult:
        """Store `events` (Event objects, compact dicts or xAPI statements, mixed), `batch_size` per transaction."""
        result = IngestResult()
        self._consume(((f"{source}[{i}]", obj) for i, obj in enumerate(events)), result, batch_size)
        return result

    def ingest_file(self, path: str | Path, *, batch_size: int = BATCH_SIZE) -> IngestResult:
        """Stream a JSON-lines file (one event, statement, or array of statements per line) in constant memory."""
        file = Path(path)
        if not file.is_file():
            raise BadInputError(f"{file}: no such file")
        result = IngestResult()

        def items() -> Iterator[tuple[str, Any]]:
            with file.open(encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    where = f"{file.name}:{number}"
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield where, _Bad(f"invalid JSON: {exc.msg} (column {exc.colno})", unparseable(line))
                        continue
                    if isinstance(obj, list):
                        yield from ((f"{where}[{i}]", item) for i, item in enumerate(obj))
                    else:
                        yield where, obj

        self._consume(items(), result, batch_size)
        return result

    def _consume(self, items: Iterable[tuple[str, Any]], result: IngestResult, batch_size: int) -> None:
        rows: list[EventRow] = []
        places: list[str] = []
        rejections: list[Rejection] = []
        for where, obj in items:
            if isinstance(obj, _Bad):
                rejections.append(Rejection(where, obj.reason, obj.payload))
            elif isinstance(row := _normalize_or_reject(obj, where, self.config, rejections), EventRow):
                rows.append(row)
                places.append(where)
            if len(rows) + len(rejections) >= batch_size:
                self._flush(_Batch(rows, places, rejections), result)
                rows, places, rejections = [], [], []
        if rows or rejections:
            self._flush(_Batch(rows, places, rejections), result)

    def _flush(self, batch: _Batch, result: IngestResult) -> None:
        """Write one batch and count it into `result` (only after its COMMIT returned: acknowledged)."""
        outcomes, reasons = self._write(batch.rows, batch.rejections)
        for rejection in batch.rejections:
            result.add_error(rejection.source, rejection.reason, rejection.statement_id)
        for index, (row, where, outcome) in enumerate(zip(batch.rows, batch.places, outcomes, strict=True)):
            if outcome == "stored":
                result.stored += 1
            elif outcome == "duplicate":
                result.duplicates += 1
            else:
                result.add_error(where, reasons[index], row.statement_id)

    def write(self, rows: list[EventRow], rejections: list[Rejection] = ()) -> list[Outcome]:  # type: ignore[assignment]
        """Store `rows` and `rejections` in one transaction; the outcome of each row, in order.

        A row whose statement id is already stored is a `duplicate` when its content is the same, else a
        `conflict` (kept in the rejected table with the reason; so is a statement-key collision).
        """
        return self._write(rows, rejections)[0]

    def _write(self, rows: list[EventRow], rejections: Iterable[Rejection]) -> tuple[list[Outcome], dict[int, str]]:
        attempt = 0
        while True:
            try:
                return self._write_once(rows, list(rejections))
            except Exception as exc:
                if not (self._sqlite and "locked" in str(exc).lower()) or attempt >= _LOCK_RETRIES:
                    raise
                attempt += 1
                time.sleep(min(0.05 * attempt, 1.0))

    def _write_once(self, rows: list[EventRow], rejections: list[Rejection]) -> tuple[list[Outcome], dict[int, str]]:
        outcomes: list[Outcome] = ["stored"] * len(rows)
        reasons: dict[int, str] = {}
        seen: dict[int, EventRow] = {row.statement_key: row for row in rows}
        fresh: list[EventRow] = rows
        if len(seen) < len(rows):  # duplicates inside the batch (rare): the first of each key is stored
            seen, fresh = {}, []
            for index, row in enumerate(rows):
                known = seen.get(row.statement_key)
                if known is None:
                    seen[row.statement_key] = row
                    fresh.append(row)
                elif known.statement_id == row.statement_id and known.body_hash == row.body_hash:
                    outcomes[index] = "duplicate"
                else:
                    outcomes[index] = "conflict"
                    reasons[index] = conflict_reason(row, known.statement_id)
        fresh = sorted(fresh, key=_BY_KEY)  # B-tree inserts in key order touch each index page once per batch
        proxy = self.engine.raw_connection()
        try:
            dbapi: Any = proxy.driver_connection
            cursor = dbapi.cursor()
            if self._sqlite:
                dbapi.isolation_level = None  # we issue BEGIN IMMEDIATE / COMMIT ourselves
            try:
                if self._sqlite:
                    cursor.execute("BEGIN IMMEDIATE")  # inside the try: a lock timeout here still restores the mode
                stored: dict[int, tuple[str, str]] = {}
                inserts = fresh
                if fresh and self._insert_rows(cursor, fresh) != len(fresh):
                    # Some ids were already stored (rare): undo, then check which first and insert the rest.
                    self._restart(dbapi, cursor)
                    stored = self._existing(cursor, [row.statement_key for row in fresh])
                    inserts = [row for row in fresh if row.statement_key not in stored]
                    if inserts:
                        self._insert_rows(cursor, inserts)
                if inserts:
                    cursor.executemany(self._sessions, session_totals(inserts))
                now = time.time()
                conflicts = []
                for index, row in enumerate(rows) if stored or reasons else ():
                    hit = stored.get(row.statement_key)
                    if hit is not None:  # nothing with this key was inserted now: judge every row by the stored one
                        if hit == (row.statement_id, row.body_hash):
                            outcomes[index] = "duplicate"
                        else:
                            outcomes[index] = "conflict"
                            reasons[index] = conflict_reason(row, hit[0])
                    if outcomes[index] == "conflict":
                        reason = reasons[index]
                        body = json.dumps(row._asdict())
                        conflicts.append((now, "ingest", reason, row.statement_id, row.student, body))
                bad = [(now, r.source, r.reason, r.statement_id, r.student, r.payload) for r in rejections] + conflicts
                if bad:
                    cursor.executemany(self._reject, bad)
                if self._sqlite:
                    cursor.execute("COMMIT")
                else:
                    dbapi.commit()
            except BaseException:
                if self._sqlite:
                    if dbapi.in_transaction:
                        cursor.execute("ROLLBACK")
                else:
                    dbapi.rollback()
                raise
            finally:
                cursor.close()
                if self._sqlite:
                    dbapi.isolation_level = ""
        finally:
            proxy.close()
        return outcomes, reasons

    def _insert_rows(self, cursor: Any, rows: list[EventRow]) -> int:
        """Insert `rows` (those whose statement key is new); the number inserted. PostgreSQL takes them through
        COPY into a per-transaction temporary table, then one INSERT … SELECT (several times executemany's rate)."""
        if self._sqlite:
            cursor.executemany(self._insert, rows)
            return int(cursor.rowcount)
        cursor.execute(_PG_STAGE)
        with cursor.copy(_PG_COPY) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_PG_MOVE)
        inserted = int(cursor.rowcount)
        cursor.execute(f"TRUNCATE {_PG_STAGE_TABLE}")
        return inserted

    def _restart(self, dbapi: Any, cursor: Any) -> None:
        if self._sqlite:
            cursor.execute("ROLLBACK")
            cursor.execute("BEGIN IMMEDIATE")
        else:
            dbapi.rollback()

    def _existing(self, cursor: Any, keys: list[int]) -> dict[int, tuple[str, str]]:
        found: dict[int, tuple[str, str]] = {}
        for start in range(0, len(keys), _CHECK_CHUNK):
            chunk = keys[start : start + _CHECK_CHUNK]
            marks = ", ".join([self._mark] * len(chunk))
            cursor.execute(
                f"SELECT statement_key, statement_id, body_hash FROM analytics_events WHERE statement_key IN ({marks})",
                chunk,
            )
            found.update((key, (sid, digest)) for key, sid, digest in cursor.fetchall())
        return found


_CLOSING = frozenset(("pause", "complete", "terminate", "seek"))


def session_totals(rows: Iterable[EventRow]) -> list[tuple[Any, ...]]:
    """Per (lesson, session) of `rows`: the `analytics_sessions` columns (see `SessionSummary`), to merge in."""
    acc: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        key = (row.lesson_id, row.session_id)
        a = acc.get(key)
        if a is None:
            a = acc[key] = [row.lesson_id, row.session_id, row.student, 0, None, 0, 0.0, row.timestamp]
        verb = row.verb
        if verb == "play":
            a[5] += 1
            a[6] -= row.video_time or 0.0
        elif verb in _CLOSING:
            t = row.time_from if verb == "seek" else row.video_time
            if t is not None:
                a[6] += t
                if a[4] is None or t > a[4]:
                    a[4] = t
            if verb == "complete":
                a[3] = 1
        if row.timestamp < a[7]:
            a[7] = row.timestamp
    return [tuple(a) for a in acc.values()]


@dataclass
class _Bad:
    reason: str
    payload: str


def _normalize_or_reject(obj: Any, where: str, config: AnalyticsConfig, rejections: list[Rejection]) -> EventRow | None:
    """`obj` as a row, or None after appending its rejection (with the reason, student pseudonymised)."""
    try:
        return normalize(obj, config)
    except EventError as exc:
        payload, student = scrub(obj, config)
        sid = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
        rejections.append(Rejection(where, str(exc), payload, sid, student))
        return None


@dataclass
class _Batch:
    rows: list[EventRow]
    places: list[str]
    rejections: list[Rejection]
