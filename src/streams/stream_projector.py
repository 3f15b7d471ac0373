"""The projectors under a stream driver: batches of envelopes from topic partitions, applied
to the same stores the embedded driver writes (hot views, ClickHouse facts), which are
idempotent by event id and version. Free of Faust, so it is tested without a broker.

Partitions deliver in log order each, but not in log order across partitions. So the position
recorded with the stores is a watermark: everything at or below it is applied. A partition
with messages still to consume holds the watermark at the last position applied from it; when
none has, it is the relay's recorded position (every event up to it was acknowledged by the
broker, so read and applied), or the highest position applied when no relay is known.

An event a sink cannot take is set aside in the dead letters and the batch goes on; a sink or
store that cannot be reached is waited for (`apply_patiently`), the batch applied again once
it answers, and only then are the offsets committed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from streams.embedded_driver import Sinks
from streams.envelope import Envelope
from streams.isolation import apply_page
from streams.outages import Backoff, is_outage
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
    backoff: Backoff = field(default_factory=lambda: Backoff("stream projection", log, cap=10))
    stopping: threading.Event = field(default_factory=threading.Event)

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
        for sink in self.sinks.each():
            apply_page(sink, envelopes, position, self.sinks.letters, in_log_order=False)
        if self.checkpoints is not None:
            self.checkpoints.advance(self.name, position)
        self.applied += len(envelopes)
        return position

    def apply_patiently(
        self,
        delivered: list[tuple[Hashable, Envelope]],
        pending: Iterable[Hashable] = (),
    ) -> int | None:
        """`apply`, again and again with a growing pause while a store or sink cannot be
        reached (the batch is idempotent); None if `stopping` was set meanwhile."""
        pending = list(pending)
        while not self.stopping.is_set():
            try:
                position = self.apply(delivered, pending)
            except Exception as error:
                if not is_outage(error):
                    raise
                self.stopping.wait(self.backoff.failed(error))
                continue
            self.backoff.succeeded()
            return position
        return None
