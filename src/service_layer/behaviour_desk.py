"""Behaviour ingestion (POST /track and /track/batch): each event checked against the tracking
plan, its customer's analytics consent read fresh, then kept as a row under the customer's
pseudonym (consent), under its anonymous id (the cookie banner's consent), or only counted in
the anonymous aggregates; the decided rows go to an outlet: the embedded buffer into chDB, or
the broker's `behaviour` topic for the worker. Behaviour is telemetry: it never enters the
event store."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import orjson
from prometheus_client import Counter, Histogram

from configuration.settings import Settings
from events.tracking_plan import TrackingPlan, Violation, tracking_plan
from projections.behaviour_rows import TrackedBatch
from service_layer.behaviour_consent import Collection, ConsentReader
from service_layer.customer_store import SealedCustomerLedger
from service_layer.read_side import ReadSide

if TYPE_CHECKING:  # ClickHouse, Arrow and Kafka clients load only where behaviour goes
    from service_layer.behaviour_buffer import BehaviourBuffer
    from streams.behaviour_topic import BehaviourTopic

EVENTS = Counter(
    "glow_track_events",
    "Behaviour events received, by outcome (accepted: a row; aggregated_only: counted only; "
    "blocked: broke the tracking plan with GLOW_TRACKING_VIOLATIONS=block)",
    ["outcome"],
)
VIOLATIONS = Counter(
    "glow_track_violations", "Events that broke the tracking plan, by kind", ["kind"]
)
CONSENT_READ = Histogram(
    "glow_track_consent_read_seconds",
    "Reading the analytics consent of the customers one ingestion names",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
for _outcome in ("accepted", "aggregated_only", "blocked"):
    EVENTS.labels(_outcome)
MESSAGE_IDS = uuid.UUID("5b0d6a4e-2f1c-4c57-9a55-6f3a7c1e8d20")  # event ids from message ids


@dataclass(frozen=True)
class TrackCall:
    """One event as the caller sent it, its customer already checked against the token."""

    event: str
    properties: dict[str, Any]
    channel: str
    anonymous_id: str = ""
    customer_id: UUID | None = None
    cookie_consent: bool = False  # context.consent.analytics: the cookie banner's answer
    timestamp: datetime | None = None
    message_id: str | None = None


@dataclass
class Outcomes:
    accepted: int = 0
    aggregated_only: int = 0
    violations: int = 0
    blocked: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def count(self) -> None:
        """Add this call's outcomes to `glow_track_events_total`."""
        for outcome in ("accepted", "aggregated_only", "blocked"):
            if getattr(self, outcome):
                EVENTS.labels(outcome).inc(getattr(self, outcome))

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "aggregated_only": self.aggregated_only,
            "violations": self.violations,
            "blocked": self.blocked,
            "problems": self.problems,
        }


class BehaviourUnavailableError(RuntimeError):
    """The rows could not be handed on (the buffer is full, the broker unreachable)."""


class BehaviourOutlet(Protocol):
    async def send(self, batch: TrackedBatch) -> None: ...


class BehaviourDesk:
    def __init__(
        self,
        consents: ConsentReader,
        *,
        block_violations: bool = True,
        plan: TrackingPlan | None = None,
    ) -> None:
        self.consents = consents
        self.block_violations = block_violations
        self.plan = plan or tracking_plan()

    def decide(self, calls: Sequence[TrackCall], subject: str) -> tuple[TrackedBatch, Outcomes]:
        """The rows these events make and what became of each. `subject` (the token's) scopes
        message ids: a message id sent twice by one caller is one row."""
        received = _now_ms()
        outcomes = Outcomes()
        batch = TrackedBatch()
        collections = self._collections(calls)
        batch.people += [
            (c.customer_id, c.person, received)
            for c in collections.values()
            if c.person and c.fresh_person
        ]
        for index, call in enumerate(calls):
            violation = self.plan.violation(call.event, call.properties)
            if violation is not None:
                outcomes.violations += 1
                VIOLATIONS.labels(violation.kind).inc()
                outcomes.problems.append(_problem(index, violation))
                outcome = "blocked" if self.block_violations else "passed"
                day = _day(received)
                batch.violations[
                    (day, violation.event, violation.kind, violation.property, outcome)
                ] += 1
                if self.block_violations:
                    outcomes.blocked += 1
                    continue
            self._keep(call, violation, collections, received, subject, batch, outcomes)
        outcomes.count()  # once per call, not per event
        return batch, outcomes

    def _keep(
        self,
        call: TrackCall,
        violation: Violation | None,
        collections: dict[UUID, Collection],
        received: int,
        subject: str,
        batch: TrackedBatch,
        outcomes: Outcomes,
    ) -> None:
        occurred = _ms(call.timestamp) if call.timestamp is not None else received
        planned = self.plan.events.get(call.event)
        properties = planned.storable(call.properties) if planned is not None else {}
        if violation is not None and planned is not None:  # a passed event keeps only its plan's
            properties = {k: v for k, v in properties.items() if k in planned.schema["properties"]}
        sku = properties.get("sku")
        sku = sku if isinstance(sku, str) else ""
        event_name = call.event if planned is not None else violation.event if violation else ""
        batch.aggregates[(_day(occurred), event_name, call.channel, sku)] += 1
        person = ""
        if call.customer_id is not None:
            collection = collections[call.customer_id]
            person = collection.person or ""
            if person and call.anonymous_id:
                batch.stitches.append((call.anonymous_id, person, received))
            if not person:
                outcomes.aggregated_only += 1
                return
        elif not (call.anonymous_id and call.cookie_consent):
            outcomes.aggregated_only += 1
            return
        event_id = (
            uuid.uuid5(MESSAGE_IDS, f"{subject}\n{call.message_id}")
            if call.message_id
            else uuid.uuid4()
        )
        batch.events.append(
            (
                str(event_id),
                occurred,
                received,
                event_name,
                call.channel,
                person,
                call.anonymous_id,
                sku,
                orjson.dumps(properties).decode(),
                violation.kind if violation is not None else "",
            )
        )
        outcomes.accepted += 1

    def _collections(self, calls: Sequence[TrackCall]) -> dict[UUID, Collection]:
        """Each distinct customer's consent, read once per ingestion, fresh."""
        named = {call.customer_id for call in calls if call.customer_id is not None}
        if not named:
            return {}
        started = time.perf_counter()
        found = {customer_id: self.consents.collection(customer_id) for customer_id in named}
        CONSENT_READ.observe(time.perf_counter() - started)
        return found


class BehaviourIngestion:
    """The desk and where its rows go (the embedded buffer, or the broker's topic)."""

    def __init__(
        self,
        desk: BehaviourDesk,
        outlet: BehaviourOutlet,
        *,
        buffer: BehaviourBuffer | None = None,
        topic: BehaviourTopic | None = None,
    ) -> None:
        self.desk = desk
        self.outlet = outlet
        self.buffer = buffer  # embedded: the thread that writes into chDB
        self.topic = topic  # cluster: the producer, stopped in the event loop that started it

    def start(self) -> None:
        if self.buffer is not None:
            self.buffer.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self.buffer is not None:
            self.buffer.stop(timeout)

    async def aclose(self) -> None:
        if self.topic is not None:
            await self.topic.stop()

    async def ingest(self, calls: Sequence[TrackCall], subject: str) -> Outcomes:
        """Decide off the event loop (it reads the customer ledger), then hand the rows on."""
        batch, outcomes = await asyncio.to_thread(self.desk.decide, calls, subject)
        if batch:
            try:
                await self.outlet.send(batch)
            except Exception as error:  # the buffer full, the broker unreachable: nothing kept
                raise BehaviourUnavailableError(
                    f"the behaviour events were not kept ({type(error).__name__}: {error}); "
                    "send them again (with message ids, a retry is never counted twice as rows)"
                ) from error
        return outcomes


def behaviour_ingestion(
    settings: Settings, read_side: ReadSide | None, customers: SealedCustomerLedger
) -> BehaviourIngestion | None:
    """With a broker: the `behaviour` topic (the worker writes ClickHouse). Embedded: a buffer
    into the ClickHouse of this process's facts (chDB allows one client per path: theirs).
    Neither: None, and POST /track says why."""
    desk = BehaviourDesk(
        ConsentReader(customers), block_violations=settings.tracking_violations == "block"
    )
    if settings.broker_url is not None:
        from streams.behaviour_topic import BehaviourTopic

        topic = BehaviourTopic(settings.bootstrap_servers(), settings.topic_prefix)
        return BehaviourIngestion(desk, topic, topic=topic)
    if read_side is None or read_side.sinks.facts is None:
        return None
    from projections.behaviour_tables import BehaviourTables
    from service_layer.behaviour_buffer import BehaviourBuffer

    tables = BehaviourTables(
        read_side.sinks.facts.client, max_anonymous_ids=settings.track_max_anonymous_ids
    )
    buffer = BehaviourBuffer(tables, settings.track_flush_seconds)
    return BehaviourIngestion(desk, buffer, buffer=buffer)


def _problem(index: int, violation: Violation) -> dict[str, Any]:
    return {
        "index": index,
        "event": violation.event,
        "kind": violation.kind,
        "property": violation.property,
        "detail": violation.detail,
    }


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()
