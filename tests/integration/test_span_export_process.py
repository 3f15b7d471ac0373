"""The exporter process (telemetry/span_shipping.py, exporter_process.py): a traced process's
spans reach a real OTLP/HTTP receiver through it, flushed on demand and at stop, in the
traced process's name; stopping tracing ends the process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from configuration.settings import Settings
from telemetry import tracing
from tests.otlp_receiver import Receiver, otlp_receiver


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with otlp_receiver() as (url, found):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
        yield found


def test_spans_go_through_the_exporter_process_to_the_collector(receiver: Receiver) -> None:
    assert tracing.start(Settings(tracing=True), tracing.RELAY)
    assert len(exporter_processes()) == 1
    try:
        tracer = tracing.TRACER
        assert tracer is not None
        request = tracer.start_span("send inventory", kind=SpanKind.PRODUCER)
        request.set_attribute("messaging.batch.message_count", 3)
        request.set_status(StatusCode.ERROR, "broker down")
        request.end()
        assert tracing.flush()  # answered once the exporter process has exported it
        first = receiver.wait_for(lambda found: len(found) == 1)[0]
        assert (first.service, first.name, first.kind) == ("glow-relay", "send inventory", 4)
        assert first.attributes == {"messaging.batch.message_count": 3}
        assert first.trace_id == format(request.get_span_context().trace_id, "032x")
        # more than a message holds, ended just before the process stops: none is lost
        for n in range(300):
            tracer.start_span(f"write {n}").end()
    finally:
        tracing.stop()
    names = {s.name for s in receiver.wait_for(lambda found: len(found) == 301)}
    assert names == {"send inventory"} | {f"write {n}" for n in range(300)}
    assert exporter_processes() == []  # it ended with tracing


def exporter_processes() -> list[int]:
    """This process's children running telemetry.exporter_process."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue  # it has just ended
            if b"telemetry.exporter_process" in command:
                found.append(int(child))
    return found
