"""The whole log read through one binary server-side cursor, driven with libpq calls directly.

psycopg's cursor gives up the interpreter lock at every network read of a result and must win
it back each time; with another thread busy in Python (a rebuild decodes the page before while
it fetches the next), every one of those waits lasts up to a switch interval, and a 4,000-row
page took ~400 ms instead of ~6 ms. `PGconn.exec_` gives the lock up once per call, for the
whole round trip, and the rows are then read from the result in one go (~10 ms under the same
load). Only for a rebuild's full pass; the followers' short pages keep psycopg's cursor.
"""

from __future__ import annotations

from collections.abc import Iterator

from psycopg import Connection, OperationalError, pq

StoredRow = tuple[int, str, int, str, bytes]  # position, aggregate id, version, topic, state
CURSOR = b"glow_log_stream"
OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


def stream_rows(
    conn: Connection[object], select: bytes, after: int, chunk: int
) -> Iterator[list[StoredRow]]:
    """The rows of `select` (a query of the five stored-row columns with one parameter, the
    position to start after, in log order), `chunk` at a time, in one read-only transaction.
    The connection must be in autocommit mode (the pool's are); it is left idle."""
    pgconn = conn.pgconn
    _checked(pgconn, pgconn.exec_(b"BEGIN READ ONLY"))
    try:
        declare = b"DECLARE " + CURSOR + b" BINARY NO SCROLL CURSOR FOR " + select
        _checked(pgconn, pgconn.exec_params(declare, [str(after).encode()]))
        fetch = b"FETCH %d FROM %s" % (chunk, CURSOR)
        while rows := _rows(_checked(pgconn, pgconn.exec_(fetch))):
            yield rows
    finally:
        status = pgconn.transaction_status
        if status == pq.TransactionStatus.INTRANS:
            pgconn.exec_(b"COMMIT")
        elif status == pq.TransactionStatus.INERROR:
            pgconn.exec_(b"ROLLBACK")


def _checked(pgconn: pq.abc.PGconn, result: pq.abc.PGresult) -> pq.abc.PGresult:
    if result.status not in OK:
        message = (result.error_message or pgconn.error_message).decode(errors="replace")
        raise OperationalError(f"reading the event log failed: {message.strip()}")
    return result


def _rows(result: pq.abc.PGresult) -> list[StoredRow]:
    value = result.get_value
    return [
        (
            int.from_bytes(value(i, 0) or b"", "big", signed=True),
            (value(i, 1) or b"").decode(),
            int.from_bytes(value(i, 2) or b"", "big", signed=True),
            (value(i, 3) or b"").decode(),
            bytes(value(i, 4) or b""),
        )
        for i in range(result.ntuples)
    ]
