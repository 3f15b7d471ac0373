"""eventsourcing's application recorders, extended the ways the ledger needs:

- command answers (idempotency) are inserted in the same transaction as the command's events,
  so a key's first answer and its effects commit together or not at all;
- on PostgreSQL, the log read as plain tuples with ids as text (`select_stored_rows`), which
  the stream reader decodes without a Notification or a UUID object per row;
- on PostgreSQL, the same transaction as eventsourcing's (table lock, NOTIFY, notification
  ids in commit order) in ONE round trip: a function per event table (migration
  0006_group_append.sql) takes the answers and the events as binary arrays and runs the whole
  transaction server-side. The arrays are built in the wire format directly
  (storage/pg_arrays.py) and sent with one libpq call (`group_append`). Against four
  client statements with psycopg's list dumping it costs the writer about 0.2x the CPU and
  0.4x the wall time per group (scripts/bench_group_append.py). A table without such a
  function (an application the migrations do not know) gets the same transaction from four
  statements.

Selected through eventsourcing's APPLICATION_RECORDER_TOPIC setting.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from storage.command_answers import CommandAnswer
from storage.group_append import GroupAppend
from storage.log_stream import StoredRow, stream_rows
from storage.pg_arrays import (
    bytea_array,
    int4,
    int4_array,
    int8_array,
    text_array,
    uuid_array,
)

ANSWERS_TABLE = "glow_command_answers"
ANSWERS = "command_answers"  # the keyword that carries them through EventStore.put()
LAST_POSITION = 2**63 - 1
SQLITE_INSERT_ANSWERS = (
    "INSERT INTO glow_command_answers (idempotency_key, fingerprint, status, response)"
    " VALUES (?, ?, ?, ?)"
)
SQLITE_SELECT_ANSWER = (
    "SELECT fingerprint, status, response FROM glow_command_answers WHERE idempotency_key = ?"
)


class CommandAnswerStore(Protocol):
    """What the command writer needs from a recorder beyond eventsourcing's interface."""

    def select_answer(self, idempotency_key: str) -> CommandAnswer | None: ...


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """One write transaction, as eventsourcing makes it (table lock, NOTIFY, notification ids
    in commit order), in fewer round trips and with its SQL rendered once, not per call."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema or "public")
        table = Identifier(self.events_table_name)
        answers = Identifier(ANSWERS_TABLE)
        self._take_lock = _render(
            SQL(
                "SET LOCAL lock_timeout = '{timeout}s'; "
                "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; NOTIFY {channel}"
            ).format(
                timeout=SQL(str(int(self.datastore.lock_timeout))),
                schema=schema,
                table=table,
                channel=Identifier(self.channel_name),
            )
        )
        self._insert_binary = _render(
            SQL(
                "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
                " SELECT * FROM unnest(%b::uuid[], %b::int8[], %b::text[], %b::bytea[])"
                " RETURNING notification_id"
            ).format(schema=schema, table=table)
        )
        self._insert_answers = _render(
            SQL(
                "INSERT INTO {schema}.{table} (idempotency_key, fingerprint, status, response)"
                " SELECT * FROM unnest(%b::text[], %b::text[], %b::int4[], %b::bytea[])"
            ).format(schema=schema, table=answers)
        )
        self._append = GroupAppend(
            _render(
                SQL(
                    "SELECT {schema}.{function}($1::text[], $2::text[], $3::int4[], $4::bytea[],"
                    " $5::uuid[], $6::int8[], $7::text[], $8::bytea[], $9::int4)"
                ).format(
                    schema=schema, function=Identifier(append_function(self.events_table_name))
                )
            ).encode()
        )
        self._has_append_function: bool | None = None
        self._select_rows = _render(
            SQL(
                "SELECT notification_id, originator_id::text, originator_version, topic, state"
                " FROM {schema}.{table} WHERE notification_id > %s AND notification_id <= %s"
                " ORDER BY notification_id LIMIT %s"
            ).format(schema=schema, table=table)
        )
        self._select_stream = _render(
            SQL(
                "SELECT notification_id, originator_id::text, originator_version, topic, state"
                " FROM {schema}.{table} WHERE notification_id > $1 ORDER BY notification_id"
            ).format(schema=schema, table=table)
        ).encode()
        self._select_creation_rows = _render(
            SQL(
                "SELECT notification_id, originator_id::text, originator_version, topic, state"
                " FROM {schema}.{table} WHERE originator_id = ANY(%s::uuid[])"
                " AND originator_version = 1"
            ).format(schema=schema, table=table)
        )
        self._select_answer = _render(
            SQL(
                "SELECT fingerprint, status, response FROM {schema}.{table}"
                " WHERE idempotency_key = %s"
            ).format(schema=schema, table=answers)
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        answers: Sequence[CommandAnswer] = kwargs.get(ANSWERS, ())
        if not answers and not stored_events:
            return []
        append = self.append
        if append is None:
            return self._insert_in_statements(stored_events, answers)
        with self.datastore.get_connection() as conn:
            return append.run(conn, self.append_params(stored_events, answers))

    @property
    def append(self) -> GroupAppend | None:
        """The one-call append of a commit group, if the migrations made one for this table."""
        if self._has_append_function is None:
            self._has_append_function = self._append_function_exists()
        return self._append if self._has_append_function else None

    def append_params(
        self, stored_events: Sequence[StoredEvent], answers: Sequence[CommandAnswer]
    ) -> list[bytes]:
        """The append function's parameters, in the binary wire format."""
        return [
            text_array([a.idempotency_key for a in answers]),
            text_array([a.fingerprint for a in answers]),
            int4_array([a.stored_status() for a in answers]),
            bytea_array([a.response_bytes() for a in answers]),
            uuid_array([e.originator_id for e in stored_events]),
            int8_array([e.originator_version for e in stored_events]),
            text_array([e.topic for e in stored_events]),
            bytea_array([e.state for e in stored_events]),
            int4(int(self.datastore.lock_timeout)),
        ]

    def _append_function_exists(self) -> bool:
        name = f"{self.datastore.schema or 'public'}.{append_function(self.events_table_name)}"
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute("SELECT to_regproc(%s) IS NOT NULL AS found", (name,))
            row = curs.fetchone()
        return bool(row and row["found"])

    def _insert_in_statements(
        self, stored_events: Sequence[StoredEvent], answers: Sequence[CommandAnswer]
    ) -> Sequence[int]:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            if answers:
                curs.execute(
                    self._insert_answers,
                    (
                        [a.idempotency_key for a in answers],
                        [a.fingerprint for a in answers],
                        [a.stored_status() for a in answers],
                        [a.response_bytes() for a in answers],
                    ),
                )
            if not stored_events:
                return []
            curs.execute(self._take_lock)
            curs.execute(
                self._insert_binary,
                (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events],
                ),
            )
            return [row["notification_id"] for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_stored_rows(
        self, after: int, limit: int, stop: int | None = None
    ) -> list[StoredRow]:
        """The notifications after `after` (up to `stop`) as (position, aggregate id as text,
        version, topic, state) tuples. Through a server-side cursor, so PostgreSQL plans for
        the first rows (an index range scan) even when its statistics lag behind a burst of
        writes: a plain query then sorted the whole table on disk (~4x slower per row). In
        binary format, so the states arrive as stored rather than hex-encoded (here about half
        the client's and the server's time per row)."""
        last = LAST_POSITION if stop is None else stop
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(name="glow_log_page", row_factory=tuple_row, binary=True) as curs,
        ):
            curs.itersize = limit
            curs.execute(self._select_rows, (after, last, limit))
            return curs.fetchall()

    def stream_stored_rows(self, after: int, chunk: int) -> Iterator[list[StoredRow]]:
        """Every notification after `after` as `StoredRow`s, `chunk` at a time, through one
        cursor on one connection held meanwhile (`log_stream`: a rebuild's full pass)."""
        with self.datastore.get_connection() as conn:
            yield from stream_rows(conn, self._select_stream, after, chunk)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_creation_rows(self, aggregate_ids: Sequence[str]) -> list[StoredRow]:
        """The first event of each aggregate (the one that names it), in one round trip."""
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(self._select_creation_rows, (list(aggregate_ids),))
            return curs.fetchall()

    def select_answer(self, idempotency_key: str) -> CommandAnswer | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_answer, (idempotency_key,), prepare=True)
            row = curs.fetchone()
        if row is None:
            return None
        return CommandAnswer.from_row(
            idempotency_key, row["fingerprint"], row["status"], bytes(row["response"])
        )


def append_function(events_table_name: str) -> str:
    """The name of the one-round-trip append function migrations create for an event table."""
    return "glow_append_" + events_table_name.replace(".", "_")


def _render(statement: Composed) -> str:
    return statement.as_string(None)


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.create_table_statements.append(
            f"CREATE TABLE IF NOT EXISTS {ANSWERS_TABLE} ("
            "idempotency_key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
            "status INTEGER NOT NULL, response BLOB NOT NULL, "
            "recorded_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.transaction(commit=True) as c:
            answers: Sequence[CommandAnswer] = kwargs.get(ANSWERS, ())
            c.executemany(
                SQLITE_INSERT_ANSWERS,
                [
                    (a.idempotency_key, a.fingerprint, a.stored_status(), a.response_bytes())
                    for a in answers
                ],
            )
            return self._insert_events(c, stored_events, **kwargs)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return super()._insert_events(c, stored_events, **kwargs) if stored_events else []

    def select_answer(self, idempotency_key: str) -> CommandAnswer | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                SQLITE_SELECT_ANSWER,
                (idempotency_key,),
            )
            row = c.fetchone()
        if row is None:
            return None
        return CommandAnswer.from_row(idempotency_key, row[0], row[1], bytes(row[2]))
