"""Dead letters: events a consumer of the log could not apply to one of its sinks (the hot
views, the facts, the relay's topics), set aside so that it keeps projecting everything else.

Kept beside the event store, where the log and the consumers' positions are: PostgreSQL's
`projection_dead_letters` (migration 0010) or a table of the same name in the embedded SQLite
file, so they survive a restart and every process (the ledger, a worker, the relay, the CLI)
sees the same list. An operator asks for a retry here; the process that owns the sink (only
it can write an in-process store or a chDB path) retries and records the outcome. A letter
names the event (position, id, type) and the error, never the payload: the message is cut
short, and the published events carry no personal data anyway.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg

MESSAGE_LIMIT = 300
COLUMNS = "sink, position, event_id, event_type, error, message"
LISTED = f"{COLUMNS}, attempts, first_failed_at, last_failed_at, retry_requested_at IS NOT NULL"


def listing(where: str) -> str:
    """The letters' query in either store; `where` is one of this module's fixed conditions."""
    return f"SELECT {LISTED} FROM projection_dead_letters WHERE {where} ORDER BY sink, position"  # noqa: S608


@dataclass(frozen=True)
class DeadLetter:
    sink: str
    position: int
    event_id: str
    event_type: str
    error: str  # the exception's class
    message: str
    attempts: int = 1
    first_failed_at: datetime | None = None
    last_failed_at: datetime | None = None
    retry_requested: bool = False

    def values(self) -> tuple[object, ...]:
        return (
            self.sink,
            self.position,
            self.event_id,
            self.event_type,
            self.error,
            self.message,
        )

    def failed_again(self, error: BaseException) -> DeadLetter:
        kind, message = described(error)
        return replace(self, error=kind, message=message)


class LoggedEvent(Protocol):
    """What names an event of the log: an envelope, or a stored event that does not decode."""

    @property
    def position(self) -> int: ...

    @property
    def event_id(self) -> str: ...

    @property
    def type(self) -> str: ...


def letter_for(sink: str, event: LoggedEvent, error: BaseException) -> DeadLetter:
    return DeadLetter(sink, event.position, event.event_id, event.type, *described(error))


def described(error: BaseException) -> tuple[str, str]:
    """The error's class and its message on one line, at most MESSAGE_LIMIT characters."""
    text = " ".join(str(error).split())
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    return type(error).__name__, text


class DeadLetters(Protocol):
    def record(self, letter: DeadLetter) -> None:
        """Add the letter, or count one more attempt of the one at its sink and position
        (with the new error; a retry asked for is then answered)."""

    def remove(self, sink: str, position: int) -> None: ...

    def listed(self, sink: str | None = None) -> list[DeadLetter]:
        """The letters (of one sink, or all), by sink and position."""

    def counts(self) -> dict[str, int]:
        """How many letters each sink has (sinks without any left out)."""

    def request_retry(self, sink: str | None, position: int | None) -> list[DeadLetter]:
        """Ask the sinks' owners to retry the letters of `sink` (or all) at `position` (or
        all); returns the letters asked for."""

    def requested(self, sinks: Sequence[str]) -> list[DeadLetter]:
        """The letters of these sinks whose retry was asked for."""

    def close(self) -> None: ...


class MemoryDeadLetters:
    """For a store that lives in memory."""

    def __init__(self) -> None:
        self._letters: dict[tuple[str, int], DeadLetter] = {}
        self._lock = threading.Lock()

    def record(self, letter: DeadLetter) -> None:
        now = datetime.now(tz=UTC)
        with self._lock:
            known = self._letters.get((letter.sink, letter.position))
            attempts = known.attempts + 1 if known is not None else 1
            first = known.first_failed_at if known is not None else now
            self._letters[(letter.sink, letter.position)] = replace(
                letter,
                attempts=attempts,
                first_failed_at=first,
                last_failed_at=now,
                retry_requested=False,
            )

    def remove(self, sink: str, position: int) -> None:
        with self._lock:
            self._letters.pop((sink, position), None)

    def listed(self, sink: str | None = None) -> list[DeadLetter]:
        with self._lock:
            return [v for k, v in sorted(self._letters.items()) if sink in (None, k[0])]

    def counts(self) -> dict[str, int]:
        return _counted(self.listed())

    def request_retry(self, sink: str | None, position: int | None) -> list[DeadLetter]:
        with self._lock:
            for key, letter in self._letters.items():
                if _chosen(letter, sink, position):
                    self._letters[key] = replace(letter, retry_requested=True)
        return [letter for letter in self.listed() if _chosen(letter, sink, position)]

    def requested(self, sinks: Sequence[str]) -> list[DeadLetter]:
        return [v for v in self.listed() if v.retry_requested and v.sink in sinks]

    def close(self) -> None:
        pass


def _chosen(letter: DeadLetter, sink: str | None, position: int | None) -> bool:
    return sink in (None, letter.sink) and position in (None, letter.position)


_PG_RECORD = f"""
INSERT INTO projection_dead_letters ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (sink, position) DO UPDATE SET
    event_id = EXCLUDED.event_id, event_type = EXCLUDED.event_type, error = EXCLUDED.error,
    message = EXCLUDED.message, attempts = projection_dead_letters.attempts + 1,
    last_failed_at = now(), retry_requested_at = NULL
"""  # noqa: S608 - fixed names
_CHOSEN = "(%(sink)s::text IS NULL OR sink = %(sink)s)"
_AT = "(%(position)s::bigint IS NULL OR position = %(position)s)"


class PostgresDeadLetters:
    """`projection_dead_letters` in PostgreSQL, over one connection shared by the threads
    (psycopg serialises them), opened again after it broke."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
            yield self._conn

    def _select(self, where: str, parameters: dict[str, Any]) -> list[DeadLetter]:
        with self._connection() as conn:
            rows = conn.execute(listing(where), parameters).fetchall()
        return [DeadLetter(*row) for row in rows]

    def record(self, letter: DeadLetter) -> None:
        with self._connection() as conn:
            conn.execute(_PG_RECORD, letter.values())

    def remove(self, sink: str, position: int) -> None:
        with self._connection() as conn:
            conn.execute(
                "DELETE FROM projection_dead_letters WHERE sink = %s AND position = %s",
                (sink, position),
            )

    def listed(self, sink: str | None = None) -> list[DeadLetter]:
        return self._select(_CHOSEN, {"sink": sink})

    def counts(self) -> dict[str, int]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT sink, count(*) FROM projection_dead_letters GROUP BY sink ORDER BY sink"
            ).fetchall()
        return {str(sink): int(count) for sink, count in rows}

    def request_retry(self, sink: str | None, position: int | None) -> list[DeadLetter]:
        chosen = {"sink": sink, "position": position}
        with self._connection() as conn:
            conn.execute(
                "UPDATE projection_dead_letters SET retry_requested_at = now()"  # noqa: S608
                f" WHERE {_CHOSEN} AND {_AT}",
                chosen,
            )
        return self._select(f"{_CHOSEN} AND {_AT}", chosen)

    def requested(self, sinks: Sequence[str]) -> list[DeadLetter]:
        return self._select(
            "retry_requested_at IS NOT NULL AND sink = ANY(%(sinks)s)", {"sinks": list(sinks)}
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


_SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS projection_dead_letters (
    sink TEXT NOT NULL,
    position INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    error TEXT NOT NULL,
    message TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    retry_requested_at TEXT,
    PRIMARY KEY (sink, position)
)
"""
_SQLITE_RECORD = f"""
INSERT INTO projection_dead_letters ({COLUMNS}, first_failed_at, last_failed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (sink, position) DO UPDATE SET
    event_id = excluded.event_id, event_type = excluded.event_type, error = excluded.error,
    message = excluded.message, attempts = projection_dead_letters.attempts + 1,
    last_failed_at = excluded.last_failed_at, retry_requested_at = NULL
"""  # noqa: S608 - fixed names
_SQLITE_CHOSEN = "(:sink IS NULL OR sink = :sink) AND (:position IS NULL OR position = :position)"


class SqliteDeadLetters:
    """The same table in the embedded store's SQLite file, made on first use as the rest of
    that store is; a connection per call, as the store's other side tables do."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self._connection() as conn, conn:
            conn.execute(_SQLITE_TABLE)

    def _connection(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self.path, timeout=10))

    def _select(self, where: str, parameters: dict[str, Any]) -> list[DeadLetter]:
        with self._connection() as conn:
            rows = conn.execute(listing(where), parameters).fetchall()
        return [
            DeadLetter(
                sink, at, event, kind, error, text, tries, _time(first), _time(last), bool(asked)
            )
            for sink, at, event, kind, error, text, tries, first, last, asked in rows
        ]

    def record(self, letter: DeadLetter) -> None:
        now = datetime.now(tz=UTC).isoformat()
        with self._connection() as conn, conn:
            conn.execute(_SQLITE_RECORD, (*letter.values(), now, now))

    def remove(self, sink: str, position: int) -> None:
        with self._connection() as conn, conn:
            conn.execute(
                "DELETE FROM projection_dead_letters WHERE sink = ? AND position = ?",
                (sink, position),
            )

    def listed(self, sink: str | None = None) -> list[DeadLetter]:
        return self._select(_SQLITE_CHOSEN, {"sink": sink, "position": None})

    def counts(self) -> dict[str, int]:
        return _counted(self.listed())

    def request_retry(self, sink: str | None, position: int | None) -> list[DeadLetter]:
        chosen = {"sink": sink, "position": position, "now": datetime.now(tz=UTC).isoformat()}
        with self._connection() as conn, conn:
            conn.execute(
                "UPDATE projection_dead_letters SET retry_requested_at = :now"  # noqa: S608
                f" WHERE {_SQLITE_CHOSEN}",
                chosen,
            )
        return self._select(_SQLITE_CHOSEN, chosen)

    def requested(self, sinks: Sequence[str]) -> list[DeadLetter]:
        return [
            letter for letter in self.listed() if letter.retry_requested and letter.sink in sinks
        ]

    def close(self) -> None:
        pass


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _counted(letters: list[DeadLetter]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for letter in letters:
        counts[letter.sink] = counts.get(letter.sink, 0) + 1
    return counts
