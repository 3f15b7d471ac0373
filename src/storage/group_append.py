"""A commit group's append (migration 0006's function) sent with one libpq call.

Through a psycopg cursor the call cost the writer ~140 us of CPU and ~620 us of wall time per
group of four commands; `PGconn.exec_prepared` costs ~60 us and ~400 us
(scripts/bench_group_append.py). The cursor adapts and checks parameters the writer already
built in the wire format (pg_arrays), manages psycopg's own prepared-statement cache, and gives
up the interpreter lock at every network read, winning it back each time from a thread busy
in Python (in the writer process, the one reading the API's frames). Here the statement is
prepared once per connection and the lock is given up once for the whole round trip.

Errors are raised as psycopg raises them (psycopg.errors by SQLSTATE), inside eventsourcing's
`get_connection`, which turns them into its own (a unique violation is its IntegrityError).
"""

from __future__ import annotations

import select
from collections.abc import Sequence

from psycopg import Connection, OperationalError, errors, pq

STATEMENT = b"glow_group_append"
APPLICATION_NAME = "glow-writer-append"  # how pg_stat_activity names the channel's session
UNDEFINED_STATEMENT = "26000"  # invalid_sql_statement_name: not prepared on this connection


class GroupAppend:
    def __init__(self, sql: bytes) -> None:
        self.sql = sql

    def run(self, conn: Connection[object], params: Sequence[bytes]) -> list[int]:
        """Call the append function with binary parameters; the notification ids it gave."""
        pgconn = conn.pgconn
        formats = [1] * len(params)
        result = pgconn.exec_prepared(STATEMENT, params, formats, 1)
        if _sqlstate(result) == UNDEFINED_STATEMENT:
            _raise_if_failed(pgconn, pgconn.prepare(STATEMENT, self.sql))
            result = pgconn.exec_prepared(STATEMENT, params, formats, 1)
        return _notification_ids(pgconn, result)


def _notification_ids(pgconn: pq.abc.PGconn, result: pq.abc.PGresult) -> list[int]:
    """The ids the append gave its events (binary int8s), or the error it raised."""
    _raise_if_failed(pgconn, result)
    value = result.get_value
    return [
        int.from_bytes(value(row, 0) or b"", "big", signed=True) for row in range(result.ntuples)
    ]


def _sqlstate(result: pq.abc.PGresult) -> str | None:
    if result.status != pq.ExecStatus.FATAL_ERROR:
        return None
    code = result.error_field(pq.DiagnosticField.SQLSTATE)
    return code.decode() if code else None


def _raise_if_failed(pgconn: pq.abc.PGconn, result: pq.abc.PGresult) -> None:
    if result.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        return
    message = (result.error_message or pgconn.error_message).decode(errors="replace").strip()
    code = _sqlstate(result)
    if code is None:  # the connection failed, not the statement
        raise OperationalError(f"appending a commit group failed: {message}")
    raise errors.lookup(code)(f"appending a commit group failed: {message}")


class AppendChannel:
    """A connection of its own for sending a commit group's append and collecting its answer
    later (`send`, then `receive`), so the writer can decide the next group meanwhile.

    A failure in between (the statement's, or the connection's: then it is reopened for the
    next group) is raised by `receive`; whether the group committed is then unknown to the
    caller, which must decide its commands again against the store."""

    def __init__(self, conninfo: str, append: GroupAppend) -> None:
        self._conninfo = conninfo
        self._append = append
        self._conn: Connection[object] | None = None

    def send(self, params: Sequence[bytes]) -> None:
        pgconn = self._connection().pgconn
        pgconn.send_query_prepared(STATEMENT, params, [1] * len(params), 1)
        while pgconn.flush():  # what the socket did not take yet
            _wait_for(pgconn.socket, select.POLLOUT)

    def receive(self) -> list[int]:
        assert self._conn is not None, "send first"
        pgconn = self._conn.pgconn
        try:
            while pgconn.is_busy():
                _wait_for(pgconn.socket, select.POLLIN)
                pgconn.consume_input()
            result = pgconn.get_result()
            while pgconn.get_result() is not None:  # the end of this query's results
                pass
        except OperationalError:
            self.close()
            raise
        if result is None:
            self.close()
            raise OperationalError("appending a commit group failed: no result came back")
        return _notification_ids(pgconn, result)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> Connection[object]:
        if self._conn is None or self._conn.closed:
            conn: Connection[object] = Connection.connect(
                self._conninfo, autocommit=True, application_name=APPLICATION_NAME
            )
            _raise_if_failed(conn.pgconn, conn.pgconn.prepare(STATEMENT, self._append.sql))
            self._conn = conn
        return self._conn


def _wait_for(socket: int, event: int) -> None:
    """Block until the socket is ready; poll, not select, which refuses descriptors >= 1024
    (a long-lived process with many open files would fail every group)."""
    waiting = select.poll()
    waiting.register(socket, event)
    waiting.poll()
