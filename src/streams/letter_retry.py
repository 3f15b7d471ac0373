"""Retrying dead letters after a fix: the process that owns a sink re-applies each letter an
operator asked for (`glow dead-letters retry`), reading the event again from the log. Sinks
are idempotent by event id and version, so a retry of an event that is in already changes
nothing. A letter retried with success is removed; one that fails again keeps its place with
the new error; an outage leaves the request standing for the next round."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from streams.dead_letters import DeadLetter, DeadLetters
from streams.isolation import Sink
from streams.log_reader import LogReader
from streams.outages import is_outage

log = logging.getLogger(__name__)


class NotPublishedError(LookupError):
    """The log holds no published event at the letter's position."""


def retry_requested(reader: LogReader, sinks: Sequence[Sink], letters: DeadLetters) -> int:
    """Retry the letters of these sinks an operator asked for; returns how many got in."""
    by_name = {sink.name: sink for sink in sinks}
    return sum(
        retry(letter, by_name[letter.sink], reader, letters)
        for letter in letters.requested(list(by_name))
    )


def retry(letter: DeadLetter, sink: Sink, reader: LogReader, letters: DeadLetters) -> bool:
    try:
        envelope = reader.event_at(letter.position)
        if envelope is None:
            raise NotPublishedError(f"no published event at position {letter.position}")
        sink.redo(envelope, reader)
    except Exception as error:
        if is_outage(error):
            raise
        again = letter.failed_again(error)
        letters.record(again)
        log.warning(
            "%s: event at position %d failed again: %s: %s",
            sink.name,
            letter.position,
            again.error,
            again.message,
        )
        return False
    letters.remove(letter.sink, letter.position)
    log.warning("%s: event at position %d retried and applied", sink.name, letter.position)
    return True
