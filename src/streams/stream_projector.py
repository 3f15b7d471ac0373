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
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from events.envelope import Envelope
from streams.embedded_driver import Sinks
from streams.isolation import apply_page
from streams.letter_retry import retry_requested
from streams.log_reader import LogReader
from streams.outages import Backoff, SinksHeldError, is_outage
from streams.positions import RELAY, PositionBook
from streams.stream_tracing import write_spans
from telemetry import tracing
from telemetry.tracing import Parent

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
    reader: LogReader | None = None  # where retried letters are read again from
    relay: str = RELAY  # the relay of the log this projector's topics carry

    def apply(
        self,
        delivered: list[tuple[Hashable, Envelope]],
        pending: Iterable[Hashable] = (),
        done: set[str] | None = None,
        parents: Sequence[Parent | None] = (),
    ) -> int:
        """Apply one batch of (partition, envelope) in delivery order; returns the watermark
        recorded with the stores. A sink that cannot be reached does not hold back the
        others: they get the batch (and go into `done`), then SinksHeldError names it.
        `parents`: each message's trace context (its Kafka headers), when tracing is on: each
        sink's write continues those traces (streams/stream_tracing.py)."""
        envelopes = [envelope for _, envelope in delivered]
        for partition, envelope in delivered:
            self.watermark.advance(partition, envelope.position)
        relay = self.checkpoints.get(self.relay) if self.checkpoints is not None else None
        position = self.watermark.position(pending, relay)
        done = set() if done is None else done
        held: dict[str, Exception] = {}
        letters = self.sinks.letters
        for sink in self.sinks.each():
            if sink.name in done:
                continue
            try:
                if parents and tracing.TRACER is not None:
                    with write_spans(sink.name, parents, consumer=True, position=position):
                        apply_page(sink, envelopes, position, letters, in_log_order=False)
                else:
                    apply_page(sink, envelopes, position, letters, in_log_order=False)
            except Exception as error:
                if not is_outage(error):
                    raise
                held[sink.name] = error
                continue
            done.add(sink.name)
        if held:
            raise SinksHeldError(held)
        if self.checkpoints is not None:
            self.checkpoints.advance(self.name, position)
        self.applied += len(envelopes)
        return position

    def apply_patiently(
        self,
        delivered: list[tuple[Hashable, Envelope]],
        pending: Iterable[Hashable] = (),
        parents: Sequence[Parent | None] = (),
    ) -> int | None:
        """`apply`, again and again with a growing pause while a store or sink cannot be
        reached (the batch is idempotent); None if `stopping` was set meanwhile."""
        pending, done = list(pending), set[str]()
        while not self.stopping.is_set():
            try:
                position = self.apply(delivered, pending, done, parents)
            except Exception as error:
                if not is_outage(error):
                    raise
                self.stopping.wait(self.backoff.failed(error))
                continue
            self.backoff.succeeded()
            return position
        return None

    def retry_requested(self) -> int:
        """Retry the letters an operator asked for (`glow dead-letters retry`)."""
        letters = self.sinks.letters
        if self.reader is None or letters is None:
            return 0
        return retry_requested(self.reader, self.sinks.each(), letters)
