"""From a stock-out to a purchase, through every engine: a store sells a SKU every day (POS
sales dated on their days) until its stock runs out; the tills' sales refused for lack of stock
are recorded as unmet demand, projected with the sales into chDB; `glow forecast run` learns
from those facts: with censored demand (the default) the forecast stays at the rate the store
sold at, with sales alone (`--sales-only`) the empty fortnight drags it down; `glow replenish`
then suggests a purchase from the censored forecast, and accepting it records one expected
shipment."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

import httpx
import orjson
import pytest

from cli.main import main
from configuration.settings import Settings
from projections.clickhouse_facts import ClickHouseFacts
from projections.forecast_store import ForecastStore
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    auth_headers,
    define_sku,
    headers,
    ok,
    post,
    register_location,
    serve,
)

SKU, STORE = "BALM-SO", "STORE-SO"
WEEK = (5, 6, 7, 6, 5, 8, 5)  # units a day by weekday: 6 on average
SOLD_DAYS, EMPTY_DAYS = 56, 14
TODAY = datetime.now(tz=UTC).date()

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(
    facts: ClickHouseFacts, analytics_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    with scratch_database() as url:
        monkeypatch.setenv("GLOW_EVENT_STORE_URL", url)
        monkeypatch.setenv("GLOW_ANALYTICS_URL", analytics_url)
        settings = Settings(
            event_store_url=url, hot_views_url="memory://", analytics_url=analytics_url
        )
        with (
            serve(settings) as running,
            httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
        ):
            yield client


def at_noon(days_ago: int) -> str:
    return datetime.combine(TODAY - timedelta(days=days_ago), clock(12), UTC).isoformat()


def sell(client: httpx.Client, days_ago: int) -> httpx.Response:
    """The day's till sale, dated on its day (an admin import may date it back)."""
    units = WEEK[(TODAY - timedelta(days=days_ago)).weekday()]
    sale = {
        "sale_id": str(uuid.uuid4()),
        "lines": [{"sku": SKU, "location": STORE, "quantity": units}],
        "occurred_at": at_noon(days_ago),
    }
    return client.post("/sales", json=sale, headers=headers(str(uuid.uuid4()), channel="pos"))


def projected(facts: ClickHouseFacts, table: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while (found := facts.rows(f"SELECT count() AS n FROM {table} FINAL")[0]["n"]) < count:
        assert time.monotonic() < deadline, f"only {found} of {count} {table} rows projected"
        time.sleep(0.1)


def rate(facts: ClickHouseFacts) -> float:
    found = ForecastStore(facts.client).latest(SKU, STORE)
    assert found is not None, "the run forecast the store's series"
    return found.mean_between(found.days[0].day, found.days[0].day + timedelta(days=14)) / 14


def test_a_stock_out_is_demand_not_a_slump_and_the_purchase_follows(
    shop: httpx.Client,
    facts: ClickHouseFacts,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = shop
    define_sku(client, SKU)
    register_location(client, STORE)
    days = range(SOLD_DAYS + EMPTY_DAYS, 0, -1)
    stocked = sum(WEEK[(TODAY - timedelta(days=d)).weekday()] for d in days if d > EMPTY_DAYS)
    receipt = {
        "sku": SKU,
        "location": STORE,
        "batch": "B1",
        "expiry": (TODAY + timedelta(days=400)).isoformat(),
        "quantity": stocked,
        "occurred_at": at_noon(SOLD_DAYS + EMPTY_DAYS + 1),
    }
    ok(post(client, "/stock/receipts", receipt))
    answers = [sell(client, d).status_code for d in days]
    assert answers == [200] * SOLD_DAYS + [409] * EMPTY_DAYS, answers
    projected(facts, "sales_lines", SOLD_DAYS)
    projected(facts, "unmet_demand", EMPTY_DAYS)

    assert main(["forecast", "run", "--quiet", "--sales-only"]) == 0
    sales_only = rate(facts)
    assert main(["forecast", "run", "--quiet"]) == 0
    censored = rate(facts)
    assert 5.0 <= censored <= 7.0, f"censored forecast {censored:.2f} a day, sold at 6"
    assert sales_only < 0.75 * censored, f"sales only {sales_only:.2f} vs {censored:.2f}"
    capsys.readouterr()

    assert main(["replenish", "--json"]) == 0
    plan: dict[str, Any] = orjson.loads(capsys.readouterr().out)
    bought = [s for s in plan["suggestions"] if (s["kind"], s["sku"]) == ("purchase", SKU)]
    assert len(bought) == 1 and bought[0]["location"] == STORE
    assert bought[0]["quantity"] >= 7 * 5, bought[0]  # a lead time's demand at least
    assert bought[0]["reasons"]
    path = f"/replenishment/suggestions/{bought[0]['suggestion_id']}/accept"
    first = client.post(path, json={}, headers=headers())
    again = client.post(path, json={}, headers=headers())
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    stock = client.get(f"/skus/{SKU}/stock/{STORE}").json()
    assert stock["incoming"] == bought[0]["quantity"]
