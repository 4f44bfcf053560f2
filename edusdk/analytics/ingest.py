"""Event ingestion: batches of normalised rows (100,000 per transaction), never through the ORM, idempotent by
statement id, every rejected event kept with its reason.

A JSON line holding a plain playback event is decoded and checked by msgspec and normalised without building a
dict (`events.normalize_line`); any other line goes through `json` and `normalize`, which give the reason for a bad
one. Each batch is staged in a per-connection temporary table (SQLite: `executemany`, in a transaction that writes
only the temporary database, so it takes no lock on the store, plain rows through an INSERT without their eight NULL
columns, and the batch's session totals summed there too; PostgreSQL: COPY), then one write transaction runs SQL
only: `INSERT … SELECT` of the staged rows in statement-key order and the merge of the sessions' totals
(`session_totals_sql`) into `analytics_sessions`. Large SQLite writes checkpoint the WAL after releasing the write
lock (see `_MANUAL_CHECKPOINT_ROWS`). A large JSON-lines file is split between worker processes
(`python -m edusdk.analytics.ingest_worker`, up to `MAX_WORKERS`): each parses, checks and stages its part while
another holds the write transaction, and a file lock beside the database hands that over at once.

Measured and left out (with benchmarks/bench_analytics.py on a 2-core machine): a writer thread (sqlite3 binds
every row holding the GIL, so it overlapped little), normalising in a worker process fed by pickles (pickling the
events there and the rows back cost the parent most of what it saved), and `INSERT … SELECT FROM json_each(?)`
(SQLite's JSON extraction costs more per row than binding).

Duplicates are found through the 64-bit `statement_key` (unique index). Two different ids with the same key (a
2^-64 chance per pair) are never silently merged: the later one is rejected with a reason naming both ids. One id
sent with different bodies in one file: one process keeps the first and rejects the others; with workers, the one
committed first is kept.

SQLite write transactions run under `BEGIN IMMEDIATE` (the write lock is taken before the duplicate check, so the
check and the insert are one atomic step and a reader never has to upgrade its lock) and are retried when another
process holds the lock past the busy timeout: "database is locked" never reaches the caller. A batch is
acknowledged (counted in the result) only after its COMMIT returned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path
from subprocess import PIPE
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from edusdk._errors import BadInputError, EduSDKError
from edusdk.analytics.config import AnalyticsConfig
from edusdk.analytics.connect import FileLock, create_store_engine
from edusdk.analytics.events import Event, EventError, EventRow, PlainEventRow, normalize, normalize_line
from edusdk.analytics.tables import SESSION_COLUMNS, session_totals_sql

# Rows per transaction: the random statement-key index has most of its leaf pages rewritten by every batch once the
# table holds a few million rows, whatever the batch size, so larger batches amortise it. Measured (2-worker file
# ingest): 50k → 100k rows, 1 M events about the same (119–125k → 122–128k events/s), 5 M events 76k → 106k events/s;
# a worker's peak memory 200 → 270 MiB (200k rows: 420 MiB and no faster at 1 M).
BATCH_SIZE = 100_000
PARALLEL_MIN_BYTES = 64 << 20  # below this a file is ingested in-process: starting workers costs about a second
MAX_WORKERS = 2
MAX_ERRORS_REPORTED = 100  # counts stay exact; the list of reasons is capped so memory stays constant
_LOCK_RETRIES = 50
# SQLite: a write of `_MANUAL_CHECKPOINT_ROWS` or more turns the automatic checkpoint off; the WAL is copied back
# into the database after the write lock is released, once `_CHECKPOINT_ROWS` rows have been written since the last
# copy, and at the end of the ingest. The copy and its fsync then overlap the next writer's transaction instead of
# lengthening this one, and an index page rewritten by several batches is copied once (measured: 2.5 → 1.6 µs of
# checkpoint per event). Smaller writes (one HTTP statement) keep SQLite's automatic checkpoint.
_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, restored on the pooled connection after each write
_MANUAL_CHECKPOINT_ROWS = 10_000
_CHECKPOINT_ROWS = 200_000
COLUMNS = EventRow._fields
Outcome = Literal["stored", "duplicate", "conflict"]
_BY_KEY = attrgetter("statement_key")
_COLUMN_LIST = ", ".join(COLUMNS)
# The batch is staged in a per-connection temporary table first, so the write transaction runs only SQL over it
# (no per-row Python): on SQLite the staging happens before the write lock is taken, so writers in other
# processes stage their batches while this one holds the lock.
_STAGE = {"sqlite": "temp.edusdk_events_stage", "postgresql": "edusdk_events_stage"}
_STAGE_CREATE = {
    "sqlite": f"CREATE TABLE IF NOT EXISTS {_STAGE['sqlite']} AS SELECT {_COLUMN_LIST} FROM analytics_events WHERE 0",
    "postgresql": f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE['postgresql']} ON COMMIT DROP AS "
    f"SELECT {_COLUMN_LIST} FROM analytics_events WITH NO DATA",
}
# SQLite: the batch's session totals are summed into this temporary table while staging (outside the write lock),
# so the write transaction only merges a few thousand rows into analytics_sessions.
_SESSION_STAGE = "temp.edusdk_sessions_stage"
_SESSION_STAGE_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {_SESSION_STAGE} AS SELECT {SESSION_COLUMNS} FROM analytics_sessions WHERE 0"
)
# The columns that are NULL in a plain playback event (play, pause, complete…: no seek, rating, quiz or extra).
# Such rows are staged through an INSERT naming only the other ten: sqlite3 binds a None parameter through its
# adaptation protocol (two failed attribute lookups each), which made the eight NULLs half of the staging cost.
_OPTIONAL = ("time_from", "time_to", "progress", "length_s", "score", "success", "question", "extra")
_PLAIN_COLUMNS = tuple(c for c in COLUMNS if c not in _OPTIONAL)
_optional_of = itemgetter(*(COLUMNS.index(c) for c in _OPTIONAL))
_plain_of = itemgetter(*(COLUMNS.index(c) for c in _PLAIN_COLUMNS))
_NO_OPTIONAL = (None,) * len(_OPTIONAL)
_SESSION_MERGE = (
    "done = CASE WHEN excluded.done > s.done THEN excluded.done ELSE s.done END, "
    "reach = CASE WHEN s.reach IS NULL OR excluded.reach > s.reach THEN excluded.reach ELSE s.reach END, "
    "plays = s.plays + excluded.plays, watch = s.watch + excluded.watch, "
    "first_ts = CASE WHEN excluded.first_ts < s.first_ts THEN excluded.first_ts ELSE s.first_ts END"
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

    def __init__(self, engine: Engine, config: AnalyticsConfig, *, write_lock: Any = None) -> None:
        """`write_lock` (optional, e.g. a `connect.FileLock`) is held around each SQLite write transaction:
        writers sharing one hand the database over at once instead of polling for SQLite's lock."""
        self.engine = engine
        self.config = config
        self._write_lock = write_lock
        self._unchecked = 0  # rows written without a checkpoint since the last (SQLite)
        self._sqlite = engine.dialect.name == "sqlite"
        dialect = "sqlite" if self._sqlite else "postgresql"
        mark = "?" if self._sqlite else "%s"
        stage = self._stage_table = _STAGE[dialect]
        self._stage_create = _STAGE_CREATE[dialect]
        self._stage_insert = f"INSERT INTO {stage} ({_COLUMN_LIST}) VALUES ({', '.join([mark] * len(COLUMNS))})"
        self._stage_plain = (
            f"INSERT INTO {stage} ({', '.join(_PLAIN_COLUMNS)}) VALUES ({', '.join([mark] * len(_PLAIN_COLUMNS))})"
        )
        # The stage holds the batch in statement-key order: B-tree inserts in key order touch each page once.
        self._move = (
            f"INSERT INTO analytics_events ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM {stage} WHERE true "
            "ON CONFLICT (statement_key) DO NOTHING"
        )
        self._stored = (
            f"SELECT e.statement_key, e.statement_id, e.body_hash FROM {stage} b "
            "JOIN analytics_events e ON e.statement_key = b.statement_key"
        )
        self._unstage_stored = (
            f"DELETE FROM {stage} WHERE statement_key IN (SELECT e.statement_key FROM {stage} b "
            "JOIN analytics_events e ON e.statement_key = b.statement_key)"
        )
        staged = f"SELECT {SESSION_COLUMNS} FROM {_SESSION_STAGE} WHERE true"
        totals = staged if self._sqlite else session_totals_sql(stage)
        self._sessions = (
            f"INSERT INTO analytics_sessions AS s ({SESSION_COLUMNS}) {totals} "
            f"ON CONFLICT (lesson_id, session_id) DO UPDATE SET {_SESSION_MERGE}"
        )
        self._reject = (
            "INSERT INTO analytics_rejected (received_at, source, reason, statement_id, student, payload) "
            f"VALUES ({', '.join([mark] * 6)})"
        )

    def record(self, events: Iterable[Any], *, source: str = "sdk", batch_size: int = BATCH_SIZE) -> IngestResult:
        """Store `events` (Event objects, compact dicts or xAPI statements, mixed), `batch_size` per transaction."""
        result = IngestResult()
        self._consume(((f"{source}[{i}]", obj) for i, obj in enumerate(events)), result, batch_size)
        return result

    def ingest_file(
        self, path: str | Path, *, batch_size: int = BATCH_SIZE, workers: int | None = None
    ) -> IngestResult:
        """Stream a JSON-lines file (one event, statement, or array of statements per line) in constant memory.

        On a SQLite file, `workers` processes (default: up to 2 on a file of `PARALLEL_MIN_BYTES` or more, else 1)
        each take one part of the file (split at line starts) and parse, check and stage their events side by
        side, taking turns at the write transactions; the result is the same as one worker's, errors in file
        order. PostgreSQL ingests in this process.

        Example:
            >>> Ingestor(engine, config).ingest_file("events.jsonl").as_json()
            {'stored': 1000000, 'duplicates': 0, 'rejected': 0, 'errors': []}
        """
        file = Path(path)
        if not file.is_file():
            raise BadInputError(f"{file}: no such file")
        if workers is not None and workers < 1:
            raise BadInputError(f"workers must be at least 1, got {workers}")
        size, url = file.stat().st_size, self._url_for_workers()
        parts = _split_lines(file, (self._workers_for(size) if workers is None else workers) if url else 1)
        if len(parts) == 1:
            result = IngestResult()
            self._consume(_file_items(file, 0, size, 1, self.config), result, batch_size)
            return result
        return _run_workers(url, self.config, file, parts, batch_size)

    def _workers_for(self, size: int) -> int:
        return min(MAX_WORKERS, os.cpu_count() or 1) if size >= PARALLEL_MIN_BYTES else 1

    def _url_for_workers(self) -> str:
        """The SQLite file other processes can open as a URL; "" for an in-memory database, which they cannot, and
        for PostgreSQL (an engine's connect arguments, e.g. a search_path, are not in its URL; COPY is fast)."""
        url = self.engine.url
        if not self._sqlite or url.database in (None, "", ":memory:"):
            return ""
        return url.render_as_string(hide_password=False)

    def _consume(self, items: Iterable[tuple[str, Any]], result: IngestResult, batch_size: int) -> None:
        rows: list[EventRow] = []
        places: list[str] = []
        rejections: list[Rejection] = []
        for where, obj in items:
            if type(obj) is PlainEventRow:  # normalised already (`normalize_line`)
                rows.append(obj)
                places.append(where)
            elif isinstance(obj, _Bad):
                rejections.append(Rejection(where, obj.reason, obj.payload))
            elif isinstance(row := _normalize_or_reject(obj, where, self.config, rejections), EventRow):
                rows.append(row)
                places.append(where)
            if len(rows) + len(rejections) >= batch_size:
                self._flush(_Batch(rows, places, rejections), result)
                rows, places, rejections = [], [], []
        if rows or rejections:
            self._flush(_Batch(rows, places, rejections), result)
        if self._unchecked:
            with contextlib.closing(self.engine.raw_connection()) as proxy:
                dbapi: Any = proxy.driver_connection
                self._checkpoint(dbapi.cursor())

    def _flush(self, batch: _Batch, result: IngestResult) -> None:
        """Write one batch and count it into `result` (only after its COMMIT returned: acknowledged)."""
        outcomes, reasons = self._write(batch.rows, batch.rejections)
        errors = [(r.source, r.reason, r.statement_id) for r in batch.rejections]
        result.stored += outcomes.count("stored")
        result.duplicates += outcomes.count("duplicate")
        # a reason is kept for every conflict; a row may have turned out a duplicate since
        for index, reason in reasons.items():
            if outcomes[index] == "conflict":
                errors.append((batch.places[index], reason, batch.rows[index].statement_id))
        for where, reason, statement_id in sorted(errors, key=_input_order) if len(errors) > 1 else errors:
            result.add_error(where, reason, statement_id)

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
        fresh: list[EventRow] = rows
        if len(set(map(_BY_KEY, rows))) < len(rows):  # duplicates inside the batch (rare): the first of each is stored
            seen: dict[int, EventRow] = {}
            fresh = []
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
        fresh = sorted(fresh, key=_BY_KEY)
        proxy = self.engine.raw_connection()
        try:
            dbapi: Any = proxy.driver_connection
            cursor = dbapi.cursor()
            if self._sqlite:
                dbapi.isolation_level = None  # we issue BEGIN / COMMIT ourselves
            handover = contextlib.ExitStack()  # the write lock, when given: released after COMMIT or ROLLBACK
            committed, manual = False, self._sqlite and len(fresh) >= _MANUAL_CHECKPOINT_ROWS
            try:
                if manual:
                    cursor.execute("PRAGMA wal_autocheckpoint=0")  # see _MANUAL_CHECKPOINT_ROWS
                if self._sqlite:
                    self._stage(cursor, fresh)  # before the write lock: only the temporary database is written
                    handover.enter_context(self._write_lock or contextlib.nullcontext())
                    cursor.execute("BEGIN IMMEDIATE")  # inside the try: a lock timeout here still restores the mode
                else:
                    self._stage(cursor, fresh)
                stored: dict[int, tuple[str, str]] = {}
                if fresh and self._move_staged(cursor) != len(fresh):
                    # Some ids were already stored (rare): undo, then find them and store only the others.
                    self._restart(dbapi, cursor, fresh)
                    cursor.execute(self._stored)
                    stored = {key: (sid, digest) for key, sid, digest in cursor.fetchall()}
                    cursor.execute(self._unstage_stored)
                    self._move_staged(cursor)
                    if self._sqlite:
                        self._total_sessions(cursor)  # of the rows left in the stage
                if len(stored) < len(fresh):
                    cursor.execute(self._sessions)  # the session totals of exactly the rows stored now
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
                committed = True
            except BaseException:
                if self._sqlite:
                    if dbapi.in_transaction:
                        cursor.execute("ROLLBACK")
                else:
                    dbapi.rollback()
                raise
            finally:
                handover.close()
                if manual:
                    cursor.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
                    self._unchecked += len(fresh) if committed else 0
                    if self._unchecked >= _CHECKPOINT_ROWS:
                        self._checkpoint(cursor)
                if self._sqlite:
                    dbapi.isolation_level = ""
                cursor.close()
        finally:
            proxy.close()
        return outcomes, reasons

    def _stage(self, cursor: Any, rows: list[EventRow]) -> None:
        """Put `rows` (in key order) into this connection's temporary stage table, emptied first. SQLite: in a
        transaction of its own that writes only the temporary database (no lock on the store), plain rows through
        the ten-column INSERT, and the batch's session totals summed into the session stage; PostgreSQL: in the
        write transaction, through COPY (several times executemany's rate)."""
        cursor.execute(self._stage_create)
        if self._sqlite:
            cursor.execute(_SESSION_STAGE_CREATE)
            if set(map(type, rows)) <= {PlainEventRow}:  # the usual batch (a file of playback events): no test per row
                plain: Iterable[tuple[Any, ...]] = map(_plain_of, rows)
                others: list[EventRow] = []
            else:
                plain = [_plain_of(row) for row in rows if _optional_of(row) == _NO_OPTIONAL]
                others = [row for row in rows if _optional_of(row) != _NO_OPTIONAL]
            cursor.execute("BEGIN")
            try:
                cursor.execute(f"DELETE FROM {self._stage_table}")
                # two runs, each in key order: the plain rows, then the others
                cursor.executemany(self._stage_plain, plain)
                if others:
                    cursor.executemany(self._stage_insert, others)
                self._total_sessions(cursor)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            return
        cursor.execute(f"TRUNCATE {self._stage_table}")
        with cursor.copy(f"COPY {self._stage_table} ({_COLUMN_LIST}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _checkpoint(self, cursor: Any) -> None:
        """SQLite: copy the WAL back into the database. PASSIVE: it copies what no reader still needs and never
        waits for (or blocks) other connections."""
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self._unchecked = 0

    def _total_sessions(self, cursor: Any) -> None:
        """SQLite: sum the staged rows' session totals into the session stage (emptied first)."""
        cursor.execute(f"DELETE FROM {_SESSION_STAGE}")
        cursor.execute(f"INSERT INTO {_SESSION_STAGE} ({SESSION_COLUMNS}) {session_totals_sql(self._stage_table)}")

    def _move_staged(self, cursor: Any) -> int:
        """Insert the staged rows whose statement key is new; the number inserted."""
        cursor.execute(self._move)
        return int(cursor.rowcount)

    def _restart(self, dbapi: Any, cursor: Any, rows: list[EventRow]) -> None:
        """Roll the write transaction back and begin another with the same rows staged."""
        if self._sqlite:
            cursor.execute("ROLLBACK")  # the stage was committed before: it still holds the rows
            cursor.execute("BEGIN IMMEDIATE")
        else:
            dbapi.rollback()  # the stage table is dropped with the transaction
            self._stage(cursor, rows)


def _file_items(
    file: Path, start: int, stop: int, first_line: int, config: AnalyticsConfig
) -> Iterator[tuple[str, Any]]:
    """The events of the lines that start in bytes [start, stop) of `file` (the first is line `first_line`),
    each with where it is (`name:line`, `name:line[i]` inside an array line): a plain event already as its
    `EventRow` (`normalize_line`), any other as parsed JSON, unparseable lines as `_Bad`."""
    name = file.name
    with file.open("rb") as handle:
        handle.seek(start)
        position, number = start, first_line - 1
        for raw in handle:
            if position >= stop:
                break
            position += len(raw)
            number += 1
            row = normalize_line(raw, config)
            if row is not None:
                yield f"{name}:{number}", row
                continue
            line = raw.decode("utf-8", errors="replace")
            if not line.strip():
                continue
            where = f"{name}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, _Bad(f"invalid JSON: {exc.msg} (column {exc.colno})", unparseable(line))
                continue
            if isinstance(obj, list):
                yield from ((f"{where}[{i}]", item) for i, item in enumerate(obj))
            else:
                yield where, obj


def _split_lines(file: Path, parts: int) -> list[tuple[int, int, int]]:
    """`file` cut into up to `parts` byte ranges at line starts: (start, stop, number of the first line)."""
    size = file.stat().st_size
    if parts <= 1 or size == 0:
        return [(0, size, 1)]
    cuts = [0]
    with file.open("rb") as handle:
        for k in range(1, parts):
            handle.seek(max(size * k // parts, cuts[-1]))
            handle.readline()  # to the start of the next line
            cuts.append(min(handle.tell(), size))
    cuts.append(size)
    bounds = sorted(set(cuts))
    ranges, line = [], 1
    with file.open("rb") as handle:
        for start, stop in itertools.pairwise(bounds):
            ranges.append((start, stop, line))
            handle.seek(start)
            remaining = stop - start
            while remaining > 0:  # count the lines of this range to number the next one's
                chunk = handle.read(min(remaining, 1 << 20))
                remaining -= len(chunk)
                line += chunk.count(b"\n")
    return ranges


def _run_workers(url: str, config: AnalyticsConfig, file: Path, parts: list[tuple[int, int, int]],
                 batch_size: int) -> IngestResult:  # fmt: skip
    """Ingest each part of `file` in a worker process of its own (`python -m edusdk.analytics.ingest_worker`:
    a fresh interpreter, so the caller's program is never re-imported or forked); their results merged in order.

    Raises:
        EduSDKError: a worker failed (what it said on stderr); parts other workers stored stay stored.
    """
    database = make_url(url).database or ""
    jobs = [
        {"url": url, "config": dataclasses.asdict(config), "path": str(file), "start": start, "stop": stop,
         "first_line": line, "batch_size": batch_size, "lock": f"{database}.ingest.lock"}
        for start, stop, line in parts
    ]  # fmt: skip
    command = [sys.executable, "-m", "edusdk.analytics.ingest_worker"]
    with contextlib.ExitStack() as stack:
        # stderr to files, not pipes: a worker blocked on a full pipe while holding the write lock would stall all
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in jobs]
        procs = [subprocess.Popen(command, stdin=PIPE, stdout=PIPE, stderr=log) for log in logs]
        try:
            for proc, job in zip(procs, jobs, strict=True):  # the key goes through a pipe, never the command line
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(job).encode())
                proc.stdin.close()
            outputs = [proc.stdout.read() if proc.stdout else b"" for proc in procs]
            codes = [proc.wait() for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        results = []
        for code, output, log in zip(codes, outputs, logs, strict=True):
            if code != 0:
                log.seek(0)
                tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
                raise EduSDKError(f"ingesting {file.name}: a worker process failed ({code}): {' | '.join(tail)}")
            data = json.loads(output)
            results.append(IngestResult(data["stored"], data["duplicates"], data["rejected"], data["errors"]))
    return _merge(results)


@contextlib.contextmanager
def relaxed_collector() -> Iterator[None]:
    """Inside: the garbage collector runs only once a million new objects have piled up (a safety net), not every
    700. For processes that exist to ingest (the worker processes, the `edusdk analytics ingest` command), never
    around a caller's code: the setting is process-wide.

    Every event makes a few short-lived tuples, and a batch keeps 100,000 rows alive until it is written: with the
    default threshold the collector runs every few hundred events over the batch being built (1 M events in one
    process: 16.8–17.0 CPU s, against 15.4–15.9 s with this setting; 70,000 cost 6 % more than this). An ingest
    makes little cyclic garbage (rows are freed by reference counting once their batch is written), so collecting
    rarely costs little memory.
    """
    before = gc.get_threshold()
    gc.set_threshold(1_000_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def ingest_part(job: dict[str, Any]) -> IngestResult:
    """One worker's part of `Ingestor.ingest_file` (see `_run_workers` for `job`); the tables already exist."""
    engine = create_store_engine(job["url"])
    lock = FileLock(job["lock"])
    try:
        ingestor = Ingestor(engine, AnalyticsConfig(**job["config"]), write_lock=lock)
        result = IngestResult()
        items = _file_items(Path(job["path"]), job["start"], job["stop"], job["first_line"], ingestor.config)
        ingestor._consume(items, result, job["batch_size"])
        return result
    finally:
        lock.close()
        engine.dispose()


def _merge(parts: list[IngestResult]) -> IngestResult:
    """The results of consecutive parts of one file as one (errors in file order, capped as ever)."""
    merged = IngestResult()
    for part in parts:
        merged.stored += part.stored
        merged.duplicates += part.duplicates
        merged.rejected += part.rejected
        merged.errors += part.errors[: MAX_ERRORS_REPORTED - len(merged.errors)]
    return merged


def _input_order(error: tuple[str, str, str | None]) -> tuple[int, ...]:
    """Sort key putting errors in input order: the numbers in where they were (`file:12[3]`, `sdk[7]`)."""
    return tuple(int(n) for n in re.findall(r"\d+", error[0]))


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
