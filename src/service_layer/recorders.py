"""eventsourcing's application recorders, extended the two ways the ledger needs:

- command answers (idempotency) are inserted in the same transaction as the command's events,
  so a key's first answer and its effects commit together or not at all;
- on PostgreSQL, events are sent as four binary arrays instead of an array of composite values
  in text form, which spent a quarter of the writer's time escaping every byte of every event.

Selected through eventsourcing's APPLICATION_RECORDER_TOPIC setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from service_layer.command_answers import CommandAnswer

ANSWERS_TABLE = "glow_command_answers"
ANSWERS = "command_answers"  # the keyword that carries them through EventStore.put()
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
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema or "public")
        self._insert_binary = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%b::uuid[], %b::int8[], %b::text[], %b::bytea[])"
            " RETURNING notification_id"
        ).format(schema=schema, table=Identifier(self.events_table_name))
        self._insert_answers = SQL(
            "INSERT INTO {schema}.{table} (idempotency_key, fingerprint, status, response)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::int4[], %b::bytea[])"
        ).format(schema=schema, table=Identifier(ANSWERS_TABLE))
        self._select_answer = SQL(
            "SELECT fingerprint, status, response FROM {schema}.{table} WHERE idempotency_key = %s"
        ).format(schema=schema, table=Identifier(ANSWERS_TABLE))

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        answers: Sequence[CommandAnswer] = kwargs.get(ANSWERS, ())
        if answers:
            curs.execute(
                self._insert_answers,
                (
                    [a.idempotency_key for a in answers],
                    [a.fingerprint for a in answers],
                    [a.status for a in answers],
                    [a.response_bytes() for a in answers],
                ),
            )

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self._insert_binary,
            (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
        )

    def select_answer(self, idempotency_key: str) -> CommandAnswer | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_answer, (idempotency_key,), prepare=True)
            row = curs.fetchone()
        if row is None:
            return None
        return CommandAnswer.from_row(
            idempotency_key, row["fingerprint"], row["status"], bytes(row["response"])
        )


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
                [(a.idempotency_key, a.fingerprint, a.status, a.response_bytes()) for a in answers],
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
