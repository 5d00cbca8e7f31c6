"""The ratings database: one SQLite file in WAL mode, parameterized SQL only, one connection behind a lock.

    store = Store("mos.sqlite", study)          # creates the tables, registers the study's items
    pid = store.add_participant(order, seed)    # order: the item ids in this participant's presentation order
    result, progress = store.rate(pid, item_id, rating=4, viewport=(1280, 800))

Rules, enforced here in one transaction per rating (the server validates the fields first; the table CHECKs
are a second line):
- a rating is accepted only from a registered participant, for that participant's next unrated item in their
  stored order (so the order is the one drawn for them, and a reload resumes at the same item);
- one rating per (participant, item): the first stands; there is no update and no delete;
- a participant id is only ever the one the server issued (the cookie); rows carry it, so nobody's request can
  touch another participant's rows.
One connection behind a lock serialises writers inside the server process (20 concurrent participants cost
nothing at ACR rates); WAL lets `report` read the file from another process while the server writes.
synchronous=FULL: a committed rating survives a power cut.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import json
import os
import pathlib
import secrets
import sqlite3
import threading
from typing import Iterator

from jaxsharp.mos.study import Study

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  item_id TEXT PRIMARY KEY, image TEXT NOT NULL, category TEXT NOT NULL, method TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
  participant_id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  seed INTEGER NOT NULL,
  item_order TEXT NOT NULL,            -- JSON list of item ids, the presentation order
  user_agent TEXT);
CREATE TABLE IF NOT EXISTS ratings (
  participant_id TEXT NOT NULL REFERENCES participants(participant_id),
  item_id TEXT NOT NULL REFERENCES items(item_id),
  image TEXT NOT NULL, category TEXT NOT NULL, method TEXT NOT NULL,
  rating INTEGER NOT NULL CHECK (typeof(rating) = 'integer' AND rating BETWEEN 1 AND 5),
  rated_at TEXT NOT NULL,              -- UTC, ISO 8601 with milliseconds
  position INTEGER NOT NULL,           -- 0-based place of the item in the participant's order
  viewport_w INTEGER NOT NULL CHECK (viewport_w BETWEEN 1 AND 16384),
  viewport_h INTEGER NOT NULL CHECK (viewport_h BETWEEN 1 AND 16384),
  PRIMARY KEY (participant_id, item_id));
"""

RATING_COLUMNS = ("participant_id", "item_id", "image", "category", "method", "rating", "rated_at", "position",
                  "viewport_w", "viewport_h")


class StoreError(Exception):
    """A database that cannot be used with this study."""


class RateResult(enum.Enum):
    OK = "ok"
    UNKNOWN_PARTICIPANT = "unknown participant"
    UNKNOWN_ITEM = "unknown item"
    ALREADY_RATED = "already rated (the first rating stands)"
    NOT_CURRENT = "not the participant's current item"


@dataclasses.dataclass(frozen=True)
class Progress:
    """A participant's place: `rated` of `total` items done; `next_item` the id to show, None when done."""

    rated: int
    total: int
    next_item: str | None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connect(path: str | os.PathLike, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the project's pragmas (WAL, FULL sync, foreign keys, 10 s busy wait).

    Raises StoreError (one line) for a file that is not an SQLite database or cannot be opened.
    """
    try:
        if read_only:
            uri = pathlib.Path(path).resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=10.0)
        else:
            conn = sqlite3.connect(os.fspath(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open the database ({e})") from None
    try:
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{path}: SQLite refused WAL mode (got {mode!r}); use a file on a local disk")
            conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
    except sqlite3.Error as e:
        conn.close()
        raise StoreError(f"{path}: not a usable SQLite database ({e})") from None
    except StoreError:
        conn.close()
        raise
    return conn


class Store:
    """The ratings database of one study (see the module docstring). Safe to share between threads."""

    def __init__(self, path: str | os.PathLike, study: Study):
        self.path = pathlib.Path(path)
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        try:
            self._register(study)
        except sqlite3.DatabaseError as e:
            self._conn.close()
            raise StoreError(f"{self.path}: not a ratings database ({e})") from None
        except BaseException:
            self._conn.close()
            raise
        self._total = len(study.items)

    def _register(self, study: Study) -> None:
        with self._lock, self._transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'study_id'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('study_id', ?)", (study.study_id,))
                conn.executemany("INSERT INTO items (item_id, image, category, method) VALUES (?, ?, ?, ?)",
                                 [(i.id, i.image, i.category, i.method) for i in study.items.values()])
            elif row[0] != study.study_id:
                raise StoreError(f"{self.path} holds the ratings of study {row[0]}, not of {study.directory} "
                                 f"(study {study.study_id}); use another --db")
            else:
                registered = {r[0]: tuple(r[1:]) for r in conn.execute(
                    "SELECT item_id, image, category, method FROM items")}
                expected = {i.id: (i.image, i.category, i.method) for i in study.items.values()}
                if registered != expected:
                    raise StoreError(f"{self.path}: the registered items differ from {study.directory}'s manifest")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front, so a read-then-write cannot race another process.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def add_participant(self, order: list[str], seed: int, user_agent: str | None = None) -> str:
        """Registers a new participant with their presentation order; returns the new random id."""
        participant_id = secrets.token_urlsafe(24)
        with self._lock, self._transaction() as conn:
            conn.execute("INSERT INTO participants (participant_id, created_at, seed, item_order, user_agent) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (participant_id, _now(), seed, json.dumps(order), (user_agent or "")[:300]))
        return participant_id

    def _progress(self, conn: sqlite3.Connection, participant_id: str) -> tuple[Progress, list[str]] | None:
        row = conn.execute("SELECT item_order FROM participants WHERE participant_id = ?",
                           (participant_id,)).fetchone()
        if row is None:
            return None
        order = json.loads(row[0])
        rated = {r[0] for r in conn.execute("SELECT item_id FROM ratings WHERE participant_id = ?",
                                            (participant_id,))}
        next_item = next((item for item in order if item not in rated), None)
        return Progress(rated=len(rated), total=len(order), next_item=next_item), order

    def progress(self, participant_id: str) -> Progress | None:
        """The participant's progress, or None for an id that was never issued."""
        with self._lock:
            found = self._progress(self._conn, participant_id)
        return None if found is None else found[0]

    def rate(self, participant_id: str, item_id: str, rating: int, viewport: tuple[int, int]
             ) -> tuple[RateResult, Progress | None]:
        """Stores one rating if the rules allow it; returns the outcome and the participant's progress after it."""
        with self._lock, self._transaction() as conn:
            found = self._progress(conn, participant_id)
            if found is None:
                return RateResult.UNKNOWN_PARTICIPANT, None
            progress, order = found
            item = conn.execute("SELECT image, category, method FROM items WHERE item_id = ?", (item_id,)).fetchone()
            if item is None or item_id not in order:
                return RateResult.UNKNOWN_ITEM, progress
            if conn.execute("SELECT 1 FROM ratings WHERE participant_id = ? AND item_id = ?",
                            (participant_id, item_id)).fetchone():
                return RateResult.ALREADY_RATED, progress
            if item_id != progress.next_item:
                return RateResult.NOT_CURRENT, progress
            conn.execute(f"INSERT INTO ratings ({', '.join(RATING_COLUMNS)}) VALUES ({', '.join('?' * 10)})",
                         (participant_id, item_id, *item, rating, _now(), order.index(item_id), *viewport))
            after, _ = self._progress(conn, participant_id)
        return RateResult.OK, after


def read_ratings(path: str | os.PathLike) -> list[dict]:
    """Every rating row of a database (read-only; works while a server writes), oldest first."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no such database")
    conn = connect(path, read_only=True)
    try:
        rows = conn.execute(f"SELECT {', '.join(RATING_COLUMNS)} FROM ratings ORDER BY rated_at, rowid").fetchall()
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path}: not a ratings database ({e})") from None
    finally:
        conn.close()
    return [dict(zip(RATING_COLUMNS, row)) for row in rows]
