"""Counts of anonymous survey answers: the tables of migration 0014 on PostgreSQL, the same
tables in the customer ledger's file on the embedded SQLite store.

An anonymous answer is nobody's: it is kept only as a count per survey, question and option
code or scale value; a text answer is counted under '' and its text is never stored. The
delivery's webhook-id is recorded with the counts in one transaction, so a delivery sent again
counts once; the same id with another body is refused."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from typing import Protocol

from psycopg_pool import ConnectionPool

from domain.errors import IdempotencyKeyReusedError

TEXT_ANSWER = ""  # a text answer's count: its text is not kept


@dataclass(frozen=True)
class AnonymousAnswer:
    source: str
    webhook_id: str
    fingerprint: str
    survey_id: str
    question_id: str
    answer_kind: str
    counted: tuple[str, ...]  # option codes, a scale value, or TEXT_ANSWER


@dataclass(frozen=True)
class AnswerCount:
    question_id: str
    answer_kind: str
    answer: str
    answers: int


class SurveyTallies(Protocol):
    def record(self, answer: AnonymousAnswer) -> bool:
        """True if counted now, False if this delivery was counted before."""
        ...

    def counts(self, source: str, survey_id: str) -> list[AnswerCount]: ...


def _reused(answer: AnonymousAnswer) -> IdempotencyKeyReusedError:
    return IdempotencyKeyReusedError(
        f"webhook-id {answer.webhook_id} of {answer.source} was received before with another "
        "body; a retry must send the same body, a new answer a new webhook-id",
        webhook_id=answer.webhook_id,
    )


COUNT_COLUMNS = "source, survey_id, question_id, answer_kind, answer, answers"


class PostgresSurveyTallies:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def record(self, answer: AnonymousAnswer) -> bool:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO survey_deliveries (source, webhook_id, fingerprint) "
                "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                (answer.source, answer.webhook_id, answer.fingerprint),
            )
            if cursor.fetchone() is None:
                cursor.execute(
                    "SELECT fingerprint FROM survey_deliveries WHERE source = %s AND "
                    "webhook_id = %s",
                    (answer.source, answer.webhook_id),
                )
                row = cursor.fetchone()
                if row is None or row[0] != answer.fingerprint:
                    raise _reused(answer)
                return False
            cursor.executemany(
                f"INSERT INTO survey_answer_counts ({COUNT_COLUMNS}) VALUES (%s, %s, %s, %s, "  # noqa: S608
                "%s, 1) ON CONFLICT (source, survey_id, question_id, answer_kind, answer) DO "
                "UPDATE SET answers = survey_answer_counts.answers + 1",
                [_key(answer, value) for value in answer.counted],
            )
        return True

    def counts(self, source: str, survey_id: str) -> list[AnswerCount]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT question_id, answer_kind, answer, answers FROM survey_answer_counts "
                "WHERE source = %s AND survey_id = %s ORDER BY question_id, answer",
                (source, survey_id),
            ).fetchall()
        return [AnswerCount(*row) for row in rows]


SQLITE_TABLES = (
    "CREATE TABLE IF NOT EXISTS survey_deliveries (source TEXT NOT NULL, webhook_id TEXT NOT "
    "NULL, fingerprint TEXT NOT NULL, received_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "
    "PRIMARY KEY (source, webhook_id))",
    "CREATE TABLE IF NOT EXISTS survey_answer_counts (source TEXT NOT NULL, survey_id TEXT NOT "
    "NULL, question_id TEXT NOT NULL, answer_kind TEXT NOT NULL, answer TEXT NOT NULL, "
    "answers INTEGER NOT NULL, PRIMARY KEY (source, survey_id, question_id, answer_kind, "
    "answer))",
)


class SqliteSurveyTallies:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        with closing(sqlite3.connect(path, timeout=10)) as conn, conn:
            for statement in SQLITE_TABLES:
                conn.execute(statement)

    def record(self, answer: AnonymousAnswer) -> bool:
        with self._lock, closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            found = conn.execute(
                "SELECT fingerprint FROM survey_deliveries WHERE source = ? AND webhook_id = ?",
                (answer.source, answer.webhook_id),
            ).fetchone()
            if found is not None:
                if found[0] != answer.fingerprint:
                    raise _reused(answer)
                return False
            conn.execute(
                "INSERT INTO survey_deliveries (source, webhook_id, fingerprint) VALUES (?, ?, ?)",
                (answer.source, answer.webhook_id, answer.fingerprint),
            )
            conn.executemany(
                f"INSERT INTO survey_answer_counts ({COUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, 1) "  # noqa: S608
                "ON CONFLICT (source, survey_id, question_id, answer_kind, answer) DO UPDATE "
                "SET answers = answers + 1",
                [_key(answer, value) for value in answer.counted],
            )
        return True

    def counts(self, source: str, survey_id: str) -> list[AnswerCount]:
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            rows = conn.execute(
                "SELECT question_id, answer_kind, answer, answers FROM survey_answer_counts "
                "WHERE source = ? AND survey_id = ? ORDER BY question_id, answer",
                (source, survey_id),
            ).fetchall()
        return [AnswerCount(*row) for row in rows]


def _key(answer: AnonymousAnswer, value: str) -> tuple[str, str, str, str, str]:
    return (answer.source, answer.survey_id, answer.question_id, answer.answer_kind, value)
