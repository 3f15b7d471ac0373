"""The projectors under a stream driver: batches of envelopes from topic partitions, applied
to the same stores the embedded driver writes (hot views, ClickHouse facts), which are
idempotent by event id and version. Free of Faust, so it is tested without a broker.

Partitions deliver in log order each, but not in log order across partitions. So the position
recorded with the stores is a watermark: everything at or below it is applied. A partition
with messages still to consume holds the watermark at the last position applied from it; when
none has, it is the relay's recorded position (every event up to it was acknowledged by the
broker, so read and applied), or the highest position applied when no relay is known."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from projections.facts import batch_rows
from projections.hot_view_store import apply_batch
from streams.embedded_driver import CONSUMER, Sinks
from streams.envelope import Envelope
from streams.positions import PositionBook

log = logging.getLogger(__name__)

WORKER = "worker"


@dataclass
class Watermark:
    last: dict[Hashable, int] = field(default_factory=dict)  # partition -> last position
    highest: int = 0

    def advance(self, partition: Hashable, position: int) -> None:
        self.last[partition] = position
        self.highest = max(self.highest, position)

    def position(self, pending: Iterable[Hashable], relay_position: int | None) -> int:
        """The watermark, given the partitions that still have messages to consume."""
        held = [self.last.get(partition, 0) for partition in pending]
        if held:
            return min(held)
        return self.highest if relay_position is None else relay_position


@dataclass
class StreamProjector:
    sinks: Sinks
    checkpoints: PositionBook | None = None
    name: str = WORKER
    watermark: Watermark = field(default_factory=Watermark)
    applied: int = 0

    def apply(
        self,
        delivered: list[tuple[Hashable, Envelope]],
        pending: Iterable[Hashable] = (),
    ) -> int:
        """Apply one batch of (partition, envelope) in delivery order; returns the watermark
        recorded with the stores."""
        envelopes = [envelope for _, envelope in delivered]
        for partition, envelope in delivered:
            self.watermark.advance(partition, envelope.position)
        relay = self.checkpoints.get("relay") if self.checkpoints is not None else None
        position = self.watermark.position(pending, relay)
        if self.sinks.hot_views is not None:
            apply_batch(self.sinks.hot_views, envelopes, CONSUMER, position)
        if self.sinks.facts is not None:
            self.sinks.facts.write(batch_rows(envelopes), CONSUMER, position)
        if self.checkpoints is not None:
            self.checkpoints.advance(self.name, position)
        self.applied += len(envelopes)
        return position
