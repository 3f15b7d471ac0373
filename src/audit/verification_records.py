"""The record of each chain verification (`audit_verifications`, migration 0012): `glow verify`
writes what it found, and the metrics read the latest result and count the failed runs, so a
scheduled verification that finds the log tampered with raises an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from audit.chain_verification import Verification


@dataclass(frozen=True)
class VerificationSummary:
    intact_runs: int
    failed_runs: int
    last_at: datetime | None
    last_intact: bool | None


def record_verification(conninfo: str, report: Verification) -> None:
    found = report.discrepancy
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_verifications (intact, chain_head, log_head, rows_checked, "
            "discrepancy_position, problem) VALUES (%s, %s, %s, %s, %s, %s)",
            (
                report.intact,
                report.chain_head,
                report.log_head,
                report.rows_checked,
                None if found is None else found.position,
                None if found is None else found.problem,
            ),
        )


def verification_summary(conn: psycopg.Connection[Any]) -> VerificationSummary:
    counts = conn.execute(
        "SELECT count(*) FILTER (WHERE intact), count(*) FILTER (WHERE NOT intact) "
        "FROM audit_verifications"
    ).fetchone()
    last = conn.execute(
        "SELECT verified_at, intact FROM audit_verifications ORDER BY id DESC LIMIT 1"
    ).fetchone()
    intact_runs, failed_runs = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    if last is None:
        return VerificationSummary(intact_runs, failed_runs, None, None)
    return VerificationSummary(intact_runs, failed_runs, last[0], bool(last[1]))
