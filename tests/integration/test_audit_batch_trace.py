"""A recall's batch trace on a real PostgreSQL: exactly the sales of the batch, direct and
from reservations confirmed on other channels than they were placed on, and nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from audit.batch_trace import trace_batch
from audit.errors import UnknownAggregateError
from domain import commands as c
from tests.e2e.conftest import scratch_database
from tests.integration.audit_shop import SOAP, WAREHOUSE, Shop, open_shop, trace


@pytest.fixture
def shop() -> Iterator[Shop]:
    with scratch_database() as url, open_shop(url) as opened:
        yield opened


def test_a_recall_lists_exactly_the_sales_of_the_batch_across_channels(shop: Shop) -> None:
    shop.receive("B1", 5)  # FEFO takes B1 first: same expiry, lower number
    shop.receive("B2", 50)
    shop.receive("B1", 4, where=WAREHOUSE)
    web_app = shop.reserve(2, "web", "order-web-1")
    shop.confirm(web_app, "app")  # placed on the web shop, confirmed in the app
    app_pos = shop.reserve(1, "app", "order-app-2")
    shop.confirm(app_pos, "pos")
    released = shop.reserve(1, "web", "order-web-3")
    shop.run(c.ReleaseReservation(released, trace("web")))
    shop.sell(2, batch="B1", channel="pos", source_ref="receipt-4")  # the last 2 of B1 here
    shop.sell(3, channel="pos", source_ref="receipt-5")  # from B2 only: not in the recall
    shop.run(c.RecallBatch(SOAP, "B1", trace(reason="contamination")))

    found = trace_batch(shop.ledger, SOAP, "B1")

    sales = sorted((s["order"], s["quantity"], s["channel"]) for s in found["sales"])
    assert sales == [("order-app-2", 1, "pos"), ("order-web-1", 2, "app"), ("receipt-4", 2, "pos")]
    reserved_on = {s["order"]: s["reserved_on_channel"] for s in found["sales"]}
    assert reserved_on == {"order-web-1": "web", "order-app-2": "app", "receipt-4": None}
    assert found["totals"]["received"] == 9
    assert found["totals"]["sold"] == 5
    kinds = [m["type"] for m in found["movements"]]
    assert kinds.count("Stock.BatchRecalled") == 2  # the recall reached both places
    assert "Stock.ReservationReleased" in kinds
    assert found["customers_to_notify"] == []  # no sale here named a customer


def test_a_batch_never_held_is_refused(shop: Shop) -> None:
    shop.receive("B1", 5)
    with pytest.raises(UnknownAggregateError):
        trace_batch(shop.ledger, SOAP, "B9")
