"""Tracing end to end on PostgreSQL: the writer in its own process, spans exported over
OTLP/HTTP to a real local receiver, one trace from the HTTP request through the writer process
and the commit group to the read-model write, and each event's trace holding that trace id
(read back through the auditors' history route)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from configuration.settings import Settings
from telemetry import tracing
from tests.e2e.ledger_server import RunningLedger, auth_headers, headers, serve, stocked_sku
from tests.otlp_receiver import ReceivedSpan, Receiver, otlp_receiver

SKU, SHOP = "TRACE-LIP", "TRACE-SHOP"
SERVER, CLIENT = 2, 3  # OTLP's Span.SpanKind
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with otlp_receiver() as (url, found):
        # OpenTelemetry's own variables, as an operator sets them; the writer process,
        # spawned by the server, inherits them.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        yield found


@pytest.fixture
def traced_ledger(postgres_store: str, receiver: Receiver) -> Iterator[RunningLedger]:
    settings = Settings(
        event_store_url=postgres_store,
        writer_process=True,
        hot_views_url="memory://",
        tracing=True,
        trace_sample_ratio=1.0,
    )
    assert tracing.start(settings, tracing.API)
    try:
        with serve(settings) as running:
            yield running
    finally:
        tracing.stop()


def one(spans: list[ReceivedSpan], service: str, name: str) -> ReceivedSpan:
    found = [s for s in spans if s.service == service and s.name == name]
    assert len(found) == 1, (service, name, [(s.service, s.name) for s in spans])
    return found[0]


def test_one_trace_runs_from_the_request_through_the_writer_process_to_the_read_model(
    traced_ledger: RunningLedger, receiver: Receiver
) -> None:
    with httpx.Client(base_url=traced_ledger.base_url, headers=auth_headers()) as client:
        stocked_sku(client, SKU, SHOP, {"B1": 10})
        placed = client.post(
            "/reservations",
            json={"lines": [{"sku": SKU, "location": SHOP, "quantity": 2}]},
            headers=headers(),
        )
        assert placed.status_code == 201, placed.text
        reservation_id = placed.json()["reservation_id"]
        tracing.flush()

        spans = receiver.wait_for(lambda found: any(s.name == "POST /reservations" for s in found))
        request = one(spans, "glow-api", "POST /reservations")
        trace_id = request.trace_id
        wanted = {"writer PlaceReservation", "commit group", "hot_views write"}
        receiver.wait_for(lambda _: wanted <= {s.name for s in receiver.of_trace(trace_id)})
        in_trace = receiver.of_trace(trace_id)

        assert request.kind == SERVER
        assert request.attributes["http.request.method"] == "POST"
        assert request.attributes["http.route"] == "/reservations"
        assert request.attributes["url.path"] == "/reservations"
        assert request.attributes["http.response.status_code"] == 201
        assert request.parent_span_id == ""  # the ledger started this trace

        # the writer's span, exported by the writer process, is the request span's child
        writer = one(in_trace, "glow-writer", "writer PlaceReservation")
        assert writer.parent_span_id == request.span_id
        assert writer.attributes["rpc.method"] == "PlaceReservation"
        # the commit group's transaction: this command was alone in its group, so first
        commit = one(in_trace, "glow-writer", "commit group")
        assert commit.kind == CLIENT
        assert commit.parent_span_id == writer.span_id
        assert commit.attributes["glow.group.events"] >= 2  # Stock.Reserved, Reservation.Placed
        assert writer.start_ns <= commit.start_ns <= commit.end_ns <= writer.end_ns
        # the embedded follower's write into the hot views continues the request's trace
        views = [s for s in in_trace if s.name == "hot_views write"]
        assert views
        assert all(s.parent_span_id == request.span_id for s in views)
        assert sum(s.attributes["glow.events"] for s in views) >= 2

        # every event the request made names its trace, as the auditors read them
        history = client.get(f"/audit/reservation/{reservation_id}/history")
        assert history.status_code == 200, history.text
        events = history.json()["events"]
        assert [e["type"] for e in events] == ["Reservation.Placed"]
        assert {e["trace_id"] for e in events} == {trace_id}
        assert {e["trace"]["span_id"] for e in events} == {request.span_id}
        stock = client.get(f"/audit/stock/{SKU}@{SHOP}/history").json()["events"]
        reserved = [e for e in stock if e["type"] == "Stock.Reserved"]
        assert [e["trace_id"] for e in reserved] == [trace_id]
        # the commands before it each had a trace of their own
        others = {e["trace_id"] for e in stock if e["trace"] and e["type"] != "Stock.Reserved"}
        assert others
        assert None not in others
        assert trace_id not in others


def test_a_callers_traceparent_is_continued_and_a_refusal_is_recorded(
    traced_ledger: RunningLedger, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="glow.requests")
    with httpx.Client(base_url=traced_ledger.base_url, headers=auth_headers()) as client:
        stocked_sku(client, SKU, SHOP, {"B1": 1})
        too_many = client.post(
            "/sales",
            json={"lines": [{"sku": SKU, "location": SHOP, "quantity": 5}]},
            headers={**headers(), "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
        )
        assert too_many.status_code == 409, too_many.text
        tracing.flush()
        spans = receiver.wait_for(lambda found: any(s.name == "writer SellDirect" for s in found))
        request = one(spans, "glow-api", "POST /sales")
        assert request.trace_id == CALLER_TRACE
        assert request.parent_span_id == CALLER_SPAN
        assert request.attributes["http.response.status_code"] == 409
        writer = one(spans, "glow-writer", "writer SellDirect")
        assert writer.trace_id == CALLER_TRACE
        assert writer.attributes["glow.refusal"] == "insufficient-stock"
    # the request's log line names its trace: from a log line to the spans, and back
    lines = [r for r in caplog.records if getattr(r, "route", None) == "/sales"]
    assert [(r.status, r.trace_id) for r in lines] == [(409, CALLER_TRACE)]  # type: ignore[attr-defined]


def test_a_trace_id_is_recorded_even_when_the_trace_is_not_sampled(
    postgres_store: str, receiver: Receiver
) -> None:
    """Sampling only decides what is exported: the events still name the request's trace,
    which the log lines of that request name too, but no span id (nothing was exported)."""
    settings = Settings(
        event_store_url=postgres_store, writer_process=True, tracing=True, trace_sample_ratio=0.0
    )
    assert tracing.start(settings, tracing.API)
    try:
        with (
            serve(replace(settings)) as running,
            httpx.Client(base_url=running.base_url, headers=auth_headers()) as client,
        ):
            stocked_sku(client, SKU, SHOP, {"B1": 3})
            stock = client.get(f"/audit/stock/{SKU}@{SHOP}/history").json()["events"]
            tracing.flush()
    finally:
        tracing.stop()
    traced = [e for e in stock if e["trace"] is not None]  # Stock.Opened has no trace
    assert traced
    assert all(len(e["trace_id"]) == 32 for e in traced)
    assert all("span_id" not in e["trace"] for e in traced)
    assert receiver.spans == []
