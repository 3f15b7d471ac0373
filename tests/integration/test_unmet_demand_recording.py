"""The writer records refusals for lack of stock as unmet demand on PostgreSQL: a group's
refusals decided again alone are recorded once each, a repeated idempotency key once in all,
and a store that cannot take the record leaves the refusal as it was (counted, not a 500)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from eventsourcing.utils import get_topic

from configuration.settings import eventsourcing_env
from domain import commands as c
from domain.errors import InsufficientStockError
from domain.ledger import InventoryLedger
from domain.unmet_demand import UnmetDemand
from service_layer.command_writer import CommandWriter, Submission, claim
from service_layer.writer_metrics import WriterCollector, WriterFigures
from tests.integration.soap_shop import TRACE, soap_shop

pytestmark = pytest.mark.postgres


@pytest.fixture
def ledger() -> Iterator[InventoryLedger]:
    for url in soap_shop(2):
        app = InventoryLedger(env=eventsourcing_env(url))
        yield app
        app.close()


def _sale(quantity: int, key: str | None) -> Submission:
    sale = c.SellDirect(uuid.uuid4(), (c.StockLine("SOAP", "SHOP", quantity),), TRACE)
    return Submission(sale, key, "f-" + uuid.uuid4().hex, Future())


def _recorded(ledger: InventoryLedger) -> list[Any]:
    topics = [get_topic(UnmetDemand.Recorded)]
    return [
        ledger.mapper.to_domain_event(n)
        for n in ledger.recorder.select_notifications(1, 10_000, topics=topics)
    ]


def test_a_groups_refusals_are_recorded_once_each_a_repeated_key_once(
    ledger: InventoryLedger,
) -> None:
    writer = CommandWriter(ledger)
    group = [_sale(1, "k-ok"), _sale(5, "k-1"), _sale(4, "k-1"), _sale(3, None), _sale(9, "k-2")]
    writer.process_claimed(claim(group))

    assert group[0].future.result().created is False  # sold: 1 of the 2 left
    errors = [s.future.exception() for s in group[1:]]
    assert all(isinstance(e, InsufficientStockError) for e in errors), errors
    found = sorted((d.asked, d.available, d.short) for d in _recorded(ledger))
    # k-1's retry (4 units) was refused with the same key: its demand is k-1's, recorded once
    assert found == [(3, 1, 2), (5, 1, 4), (9, 1, 8)]
    assert writer.counts().unmet_recorded == (("insufficient-stock", 3),)
    assert writer.counts().refused == 4


def test_a_record_the_store_refuses_leaves_the_refusal_as_it_was(
    ledger: InventoryLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    put = ledger.events.put

    def no_demand(events: Any, **kwargs: Any) -> Any:
        if any(isinstance(e, UnmetDemand.Recorded) for e in events):
            raise OSError("the disk is full")
        return put(events, **kwargs)

    monkeypatch.setattr(ledger.events, "put", no_demand)
    writer = CommandWriter(ledger)
    refused = _sale(5, "k-full")
    writer.process_claimed(claim([refused]))

    error = refused.future.exception()
    assert isinstance(error, InsufficientStockError)
    assert (error.details["requested"], error.details["available"]) == (5, 2)
    assert _recorded(ledger) == []
    counts = writer.counts()
    assert (counts.refused, counts.failed, counts.unmet_unrecorded) == (1, 0, 1)
    metrics = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for m in WriterCollector(lambda: {"inventory": WriterFigures(counts, 0, 0, 1)}).collect()
        for s in m.samples
    }
    assert metrics[("glow_unmet_demand_unrecorded_total", ())] == 1
    assert metrics[("glow_unmet_demand_recorded_total", (("reason", "insufficient-stock"),))] == 0
