"""A page of events into one sink, so that an event the sink cannot take never stops it.

The page goes in whole (the usual, fast case). If the sink refuses it for a reason that is no
outage, the page is cut in halves, each applied in log order, and a half that fails is cut
again, down to the single events that fail alone: each of those is set aside as a dead letter
with the error, and the sink's position moves past it. Before an event is blamed, the sink
must take a write of its position alone; if it does not, the sink is broken and the failure
is treated as an outage (wait and retry), so a broken sink never buries the log in letters.
Outages are never set aside: they go up to the driver, which waits and retries the page.
Sinks are idempotent by event id and version, so a part applied twice changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import Counter

from events.envelope import Envelope
from streams.dead_letters import DeadLetter, DeadLetters, letter_for
from streams.log_reader import LogReader, Unreadable
from streams.outages import SinkUnavailableError, is_outage
from streams.stream_metrics import POSITIONS, PROJECTED

log = logging.getLogger(__name__)

SET_ASIDE = Counter(
    "glow_dead_letters_set_aside_total", "Events a sink could not take, set aside", ["sink"]
)
Write = Callable[[Sequence[Envelope], int], None]  # apply the events, record the position


@dataclass(frozen=True)
class Sink:
    name: str  # hot_views, facts, relay: the name its dead letters go under
    position: Callable[[], int]
    write: Write
    redo: Callable[[Envelope, LogReader], None]  # one event set aside, again, after a fix


@dataclass(frozen=True)
class _Isolating:
    sink: Sink
    letters: DeadLetters
    in_log_order: bool

    def floor(self, envelope: Envelope) -> int:
        """A position every event up to which is applied once the parts up to `envelope`
        are: in log order, its own; else (partitions interleaved) none but what was recorded."""
        return envelope.position if self.in_log_order else 0


def apply_page(
    sink: Sink,
    envelopes: Sequence[Envelope],
    last_position: int,
    letters: DeadLetters | None,
    *,
    in_log_order: bool = True,
    unreadable: Sequence[Unreadable] = (),
) -> list[DeadLetter]:
    """Apply `envelopes` and record `last_position`; returns the letters set aside (with
    those of the page's `unreadable` events). Without `letters` nothing is set aside: the
    first failure is raised, as before. `in_log_order` False: the envelopes come from
    several partitions, and `last_position` is a watermark."""
    for lost in unreadable:
        if letters is None:
            raise lost.error
        _record(sink, letters, letter_for(sink.name, lost, lost.error))
    try:
        sink.write(envelopes, last_position)
        _applied(sink, len(envelopes), last_position)
        return []
    except Exception as error:
        if letters is None or is_outage(error):
            raise
        if not envelopes:  # not even its position: nothing to blame but the sink
            raise SinkUnavailableError(sink.name, error) from error
        set_aside = _isolate(_Isolating(sink, letters, in_log_order), list(envelopes), error)
    sink.write([], last_position)
    _applied(sink, len(envelopes) - len(set_aside), last_position)
    return set_aside


def _applied(sink: Sink, events: int, position: int) -> None:
    """Once per page, for the sink's throughput and lag (stream_metrics.py)."""
    if events:
        PROJECTED.labels(sink.name).inc(events)
    POSITIONS.record(sink.name, position)


def _isolate(how: _Isolating, envelopes: list[Envelope], error: Exception) -> list[DeadLetter]:
    """`envelopes` failed together with `error`: apply what can be, set aside what cannot."""
    if len(envelopes) == 1:
        return [_set_aside(how, envelopes[0], error)]
    middle = len(envelopes) // 2
    set_aside: list[DeadLetter] = []
    for part in (envelopes[:middle], envelopes[middle:]):
        try:
            how.sink.write(part, how.floor(part[-1]))
        except Exception as part_error:
            if is_outage(part_error):
                raise
            set_aside += _isolate(how, part, part_error)
    return set_aside


def _set_aside(how: _Isolating, envelope: Envelope, error: Exception) -> DeadLetter:
    sink, letters = how.sink, how.letters
    try:
        sink.write([], max(how.floor(envelope) - 1, 0))  # does the sink take anything at all?
    except Exception as probe_error:
        raise SinkUnavailableError(sink.name, probe_error) from probe_error
    return _record(sink, letters, letter_for(sink.name, envelope, error))


def _record(sink: Sink, letters: DeadLetters, letter: DeadLetter) -> DeadLetter:
    letters.record(letter)
    SET_ASIDE.labels(sink.name).inc()
    log.warning(
        "%s: set aside event %s (%s) at position %d: %s: %s; the rest goes on "
        "(glow dead-letters retry after a fix)",
        sink.name,
        letter.event_id,
        letter.event_type,
        letter.position,
        letter.error,
        letter.message,
    )
    return letter
