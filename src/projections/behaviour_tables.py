"""The behaviour tables in ClickHouse (migrations/clickhouse/0003_behaviour.sql): one
`TrackedBatch` written as one Arrow insert per table, and the identity graph's stitches
decided against what the tables already hold.

The graph's limits, as Segment's identity resolution has them: an anonymous id (a device, a
browser) belongs to at most one person, the first that logged in on it; a later login of
another person on the same device is not merged but refused and counted (`other_person`).
A person has at most `max_anonymous_ids` anonymous ids; past that a stitch is refused
(`person_full`), so that one shared kiosk cannot glue thousands of sessions to one person.
One writer decides (the API's buffer, or the worker): the stitches of a batch are checked
against the tables and against each other in order."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from clickhouse_connect.driver.client import Client
from prometheus_client import Counter as Metric

from projections.behaviour_rows import (
    AGGREGATE_COLUMNS,
    EVENT_COLUMNS,
    EXPERIMENT_PEOPLE_COLUMNS,
    EXPOSURE_COLUMNS,
    IDENTITY_COLUMNS,
    PEOPLE_COLUMNS,
    REFUSAL_COLUMNS,
    VIOLATION_COLUMNS,
    TrackedBatch,
    day_of,
)
from projections.columnar_insert import SETTINGS, streamed

log = logging.getLogger(__name__)

STITCHES = Metric(
    "glow_track_stitches",
    "Anonymous ids stitched to a person at login, by outcome (linked, already, other_person, "
    "person_full)",
    ["outcome"],
)
for _outcome in ("linked", "already", "other_person", "person_full"):
    STITCHES.labels(_outcome)

MS = pa.timestamp("ms", tz="UTC")
TEXT = pa.string()
SCHEMAS = {
    "behaviour_events": pa.schema(
        [
            ("event_id", TEXT),
            ("occurred_at", MS),
            ("received_at", MS),
            *((name, TEXT) for name in EVENT_COLUMNS[3:]),
        ]
    ),
    "behaviour_aggregates": pa.schema(
        [
            ("day", pa.date32()),
            *((n, TEXT) for n in AGGREGATE_COLUMNS[1:4]),
            ("events", pa.uint64()),
        ]
    ),
    "tracking_violations": pa.schema(
        [
            ("day", pa.date32()),
            *((n, TEXT) for n in VIOLATION_COLUMNS[1:5]),
            ("events", pa.uint64()),
        ]
    ),
    "behaviour_people": pa.schema(
        [(PEOPLE_COLUMNS[0], TEXT), (PEOPLE_COLUMNS[1], TEXT), ("linked_at", MS)]
    ),
    "behaviour_identities": pa.schema(
        [(IDENTITY_COLUMNS[0], TEXT), (IDENTITY_COLUMNS[1], TEXT), ("linked_at", MS)]
    ),
    "behaviour_stitch_refusals": pa.schema(
        [("day", pa.date32()), (REFUSAL_COLUMNS[1], TEXT), ("events", pa.uint64())]
    ),
    "experiment_exposures": pa.schema(
        [
            *((name, TEXT) for name in EXPOSURE_COLUMNS[:4]),
            (EXPOSURE_COLUMNS[4], pa.list_(TEXT)),
            (EXPOSURE_COLUMNS[5], TEXT),
            (EXPOSURE_COLUMNS[6], pa.uint16()),
            (EXPOSURE_COLUMNS[7], MS),
        ]
    ),
    "experiment_people": pa.schema(
        [
            (EXPERIMENT_PEOPLE_COLUMNS[0], TEXT),
            (EXPERIMENT_PEOPLE_COLUMNS[1], TEXT),
            (EXPERIMENT_PEOPLE_COLUMNS[2], MS),
        ]
    ),
}


@dataclass
class Stitching:
    linked: list[tuple[str, str, int]]
    refused: Counter[tuple[str, str]]  # (day, reason) -> stitches


class BehaviourTables:
    """Writes behaviour batches into one database. A chDB client is one connection per
    process, shared with the fact follower: `lock` serialises this writer's use of it."""

    def __init__(
        self,
        client: Client,
        database: str | None = None,
        *,
        max_anonymous_ids: int = 50,
        lock: threading.Lock | None = None,
    ) -> None:
        self.client = client
        self.database = database or client.database or "default"
        self.max_anonymous_ids = max_anonymous_ids
        self.lock = lock or threading.Lock()

    def write(self, batch: TrackedBatch) -> Stitching:
        """Insert the batch; the stitches first decided against the graph. A crash between
        inserts leaves rows that a second write of the batch replaces (events, people,
        identities); the counts would be counted twice, an accepted imprecision of counts."""
        with self.lock:
            stitching = self._stitched(batch.stitches)
            self._insert("behaviour_events", batch.events)
            self._insert(
                "behaviour_aggregates",
                [(day_of(k[0]), *k[1:], n) for k, n in batch.aggregates.items()],
            )
            self._insert(
                "tracking_violations",
                [(day_of(k[0]), *k[1:], n) for k, n in batch.violations.items()],
            )
            self._insert("behaviour_people", batch.people)
            self._insert("behaviour_identities", stitching.linked)
            self._insert(
                "behaviour_stitch_refusals",
                [(day_of(k[0]), k[1], n) for k, n in stitching.refused.items()],
            )
            self._insert("experiment_exposures", batch.exposures)
            self._insert("experiment_people", batch.experiment_people)
        return stitching

    def _stitched(self, wanted: list[tuple[str, str, int]]) -> Stitching:
        stitching = Stitching([], Counter())
        if not wanted:
            return stitching
        anonymous = sorted({a for a, _, _ in wanted})
        people = sorted({p for _, p, _ in wanted})
        owner: dict[str, str] = _pairs(
            self.client.query(
                f"SELECT anonymous_id, any(person) FROM {self._table('behaviour_identities')}"  # noqa: S608
                " FINAL WHERE anonymous_id IN {ids:Array(String)} GROUP BY anonymous_id",
                parameters={"ids": anonymous},
            ).result_rows
        )
        held: Counter[str] = Counter(
            _pairs(
                self.client.query(
                    f"SELECT person, count() FROM {self._table('behaviour_identities')}"  # noqa: S608
                    " FINAL WHERE person IN {people:Array(String)} GROUP BY person",
                    parameters={"people": people},
                ).result_rows
            )
        )
        for anonymous_id, person, at in wanted:
            known = owner.get(anonymous_id)
            if known == person:
                STITCHES.labels("already").inc()
                continue
            day = datetime.fromtimestamp(at / 1000, UTC).date().isoformat()
            if known is not None:
                reason = "other_person"
            elif held[person] >= self.max_anonymous_ids:
                reason = "person_full"
            else:
                owner[anonymous_id] = person
                held[person] += 1
                stitching.linked.append((anonymous_id, person, at))
                STITCHES.labels("linked").inc()
                continue
            STITCHES.labels(reason).inc()
            stitching.refused[(day, reason)] += 1
        if stitching.refused:
            log.warning(
                "stitches refused",
                extra={"step": "track-stitch", "refused": dict(_by_reason(stitching.refused))},
            )
        return stitching

    def _insert(self, table: str, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        schema = SCHEMAS[table]
        arrays = [
            pa.array(values, type=field.type)
            for values, field in zip(zip(*rows, strict=True), schema, strict=True)
        ]
        names, data = streamed([pa.RecordBatch.from_arrays(arrays, schema=schema)])
        self.client.raw_insert(
            self._table(table), list(names), data, settings=SETTINGS, fmt="ArrowStream"
        )

    def _table(self, table: str) -> str:
        return f"`{self.database}`.`{table}`"


def _pairs(rows: Sequence[Sequence[Any]]) -> dict[Any, Any]:
    return {row[0]: row[1] for row in rows}


def _by_reason(refused: Counter[tuple[str, str]]) -> Counter[str]:
    found: Counter[str] = Counter()
    for (_, reason), n in refused.items():
        found[reason] += n
    return found
