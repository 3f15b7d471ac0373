"""Recompute the hash chain from the stored events and name the first position where the
events and the chain disagree: an edited row, a deleted one, one inserted after the fact, two
rows that swapped positions, or a checkpoint the chain no longer reaches. An `expected`
checkpoint kept outside the database (a backup's manifest) is checked the same way: the chain
recomputed from the stored events must reach its head with its link."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from audit.chain_follower import Progress, chain_head, log_head
from audit.chain_links import GENESIS, STORED_ROWS_UP_TO, next_link
from audit.checkpoints import Checkpoint, recorded_checkpoints

FETCH = 10_000
END = (1 << 63, b"")
CHAIN_UP_TO = "SELECT position, link FROM audit_chain WHERE position <= %s ORDER BY position"


@dataclass(frozen=True)
class Discrepancy:
    position: int
    problem: str


@dataclass
class Verification:
    chain_head: int = 0
    log_head: int = 0
    rows_checked: int = 0
    discrepancy: Discrepancy | None = None
    checkpoints_checked: int = 0
    signatures: str = "no key: checkpoint signatures not checked (set GLOW_AUDIT_SIGNING_KEY)"
    notes: list[str] = field(default_factory=list)
    expected_reached: bool = False
    expected_head: int | None = None

    @property
    def intact(self) -> bool:
        return self.discrepancy is None

    def as_dict(self) -> dict[str, Any]:
        found = self.discrepancy
        return {
            "intact": self.intact,
            "first_discrepancy": None
            if found is None
            else {"position": found.position, "problem": found.problem},
            "chain_head": self.chain_head,
            "log_head": self.log_head,
            "rows_checked": self.rows_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "signatures": self.signatures,
        } | (
            {}
            if self.expected_head is None
            else {
                "expected_checkpoint": {
                    "head": self.expected_head,
                    "matched": self.expected_reached and self.intact,
                }
            }
        )


def verify_chain(
    conninfo: str,
    key: bytes | None,
    progress: Progress | None = None,
    expected: Checkpoint | None = None,
) -> Verification:
    checkpoints = {c.head: c for c in recorded_checkpoints(conninfo)}
    report = Verification()
    with psycopg.connect(conninfo) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            report.chain_head, _ = chain_head(conn)
            report.log_head = log_head(conn)
            _walk(conn, report, checkpoints, progress, expected)
    _check_truncation(report, checkpoints)
    if expected is not None:
        _check_reached(report, expected)
    _check_signatures(report, [*checkpoints.values(), *([expected] if expected else [])], key)
    return report


def _walk(
    conn: psycopg.Connection[Any],
    report: Verification,
    checkpoints: dict[int, Checkpoint],
    progress: Progress | None,
    expected: Checkpoint | None = None,
) -> None:
    head = report.chain_head
    events = _rows(conn, "stored_rows", STORED_ROWS_UP_TO, head)
    chain = _rows(conn, "chain_rows", CHAIN_UP_TO, head)
    link, row, chained = GENESIS, next(events, None), next(chain, END)
    while row is not None or chained is not END:
        position = row[0] if row is not None else END[0]
        if chained[0] < position:
            report.discrepancy = Discrepancy(
                chained[0], "the chain has a link here but no stored event: deleted or moved"
            )
            return
        if position < chained[0]:
            report.discrepancy = Discrepancy(
                position, "a stored event here was never chained: inserted after the fact"
            )
            return
        assert row is not None
        link = next_link(link, *row)
        if link != bytes(chained[1]):
            report.discrepancy = Discrepancy(
                position, "the stored event differs from the one chained: edited or reordered"
            )
            return
        checkpoint = checkpoints.get(position)
        if checkpoint is not None:
            if checkpoint.link != link:
                report.discrepancy = Discrepancy(
                    position,
                    "the checkpoint taken at this head does not match the chain: "
                    "the chain and the log were rewritten after it",
                )
                return
            report.checkpoints_checked += 1
        if expected is not None and position == expected.head:
            if expected.link != link:
                report.discrepancy = Discrepancy(
                    position,
                    "the log differs from the expected checkpoint (the backup's) at its head: "
                    "events up to it were altered after the checkpoint was taken",
                )
                return
            report.expected_reached = True
        report.rows_checked += 1
        if progress is not None and report.rows_checked % FETCH == 0:
            progress(FETCH)
        row, chained = next(events, None), next(chain, END)
    if progress is not None:
        progress(report.rows_checked % FETCH)


def _check_truncation(report: Verification, checkpoints: dict[int, Checkpoint]) -> None:
    beyond = [head for head in checkpoints if head > report.chain_head]
    if beyond and report.discrepancy is None:
        report.discrepancy = Discrepancy(
            min(beyond), "a checkpoint was taken at this head but the chain now ends before it"
        )


def _check_reached(report: Verification, expected: Checkpoint) -> None:
    report.expected_head = expected.head
    if expected.head == 0 and expected.link == GENESIS:
        report.expected_reached = True  # taken on an empty log: every log starts there
    if report.discrepancy is None and not report.expected_reached:
        report.discrepancy = Discrepancy(
            expected.head,
            f"the expected checkpoint (the backup's) is at position {expected.head}, but the "
            f"chain ends at {report.chain_head}: events it covered are missing or not chained "
            "(run glow chain, then verify again)",
        )


def _check_signatures(report: Verification, checkpoints: Any, key: bytes | None) -> None:
    if key is None:
        return
    forged = [c.head for c in checkpoints if not c.signature_valid(key)]
    report.signatures = (
        "all checkpoint signatures valid"
        if not forged
        else f"unsigned or invalid signatures at heads {forged}"
    )
    if forged and report.discrepancy is None:
        report.discrepancy = Discrepancy(forged[0], "a checkpoint's signature is not valid")


def _rows(conn: psycopg.Connection[Any], name: str, query: str, head: int) -> Iterator[Any]:
    with conn.cursor(name=name) as cursor:
        cursor.itersize = FETCH
        cursor.execute(query, (head,))
        while batch := cursor.fetchmany(FETCH):
            yield from batch
