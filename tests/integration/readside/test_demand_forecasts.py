"""Demand forecasting on chDB: the one SQL query gives the same history as the happenings it
was seeded from (the aggregation tests/unit/demand_forecasting relies on), promotions come from
the ledger's products, `glow forecast run` forecasts and stores every series end to end, and
`GET /forecasts/{sku}` answers the latest run over HTTP to analysts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

from cli.main import main
from configuration.settings import Settings
from demo.business import Business, generate
from demo.demand import Key, facts_of
from domain.catalog import Product
from domain.forecasts import QUANTILES, DayDemand, DemandForecast
from domain.promotions import Promotion
from domain.trace import Trace
from projections.clickhouse_facts import ClickHouseFacts, open_facts
from projections.demand_history import STOCK, UNMET, assemble, read_history
from projections.forecast_store import ForecastRun, ForecastStore
from recommender.signals import PURCHASE, RETURN
from service_layer.bootstrap import open_ledger
from service_layer.demand_forecasting import demand_history
from tests.e2e.ledger_server import auth_headers, serve

START = datetime(2026, 6, 1, tzinfo=UTC)


def small_business() -> Business:
    return generate(products=12, customers=600, seed=3)


def seed(facts: ClickHouseFacts, business: Business) -> dict[Key, float]:
    """The business's purchases and returns as fact rows, each SKU's stock received at its
    first sale's location on the year's first day and sold down, and unmet demand (one
    refusal with a location, one without); returns the extra (non-happening) daily facts."""
    sales, returns, movements, unmet = [], [], [], []
    extra: dict[Key, float] = {}
    first_day = business.start.date()
    for n, h in enumerate(business.happenings):
        if h.at >= business.end or h.kind not in (PURCHASE, RETURN):
            continue
        event = f"e{n}"
        if h.kind == PURCHASE:
            sales.append((event, 0, h.at, h.channel, h.location, h.sku, "B1", int(h.value)))
            movements.append((event, 0, h.at, h.channel, h.sku, h.location, "sold", -int(h.value)))
            key = (STOCK, h.sku, h.location, "", h.at.date())
            extra[key] = extra.get(key, 0.0) - h.value
        else:
            returns.append((event, h.at, h.channel, h.location, h.sku, "B1", int(h.value), 0))
    for sku, location in sorted({(r[5], r[4]) for r in sales}):
        opened = datetime.combine(first_day, datetime.min.time(), UTC)
        movements.append(
            (f"r-{sku}-{location}", 0, opened, "backoffice", sku, location, "received", 40)
        )
        key = (STOCK, sku, location, "", first_day)
        extra[key] = extra.get(key, 0.0) + 40
    sku, location, channel = sales[0][5], sales[0][4], sales[0][3]
    refused = business.end - timedelta(days=2)
    unmet.append(("u1", refused, channel, sku, location, 3, 1, 2, "insufficient-stock", "sale"))
    unmet.append(("u2", refused, channel, sku, "", 4, 0, 4, "cannot-source", "order"))
    extra[(UNMET, sku, location, channel, refused.date())] = 2.0
    extra[(UNMET, sku, "", channel, refused.date())] = 4.0
    client = facts.client
    client.insert(
        "sales_lines",
        sales,
        column_names=[
            "event_id",
            "line",
            "occurred_at",
            "channel",
            "location",
            "sku",
            "batch",
            "quantity",
        ],
    )
    client.insert(
        "returns",
        returns,
        column_names=[
            "event_id",
            "occurred_at",
            "channel",
            "location",
            "sku",
            "batch",
            "quantity",
            "restocked",
        ],
    )
    client.insert(
        "stock_movements",
        movements,
        column_names=[
            "event_id",
            "line",
            "occurred_at",
            "channel",
            "sku",
            "location",
            "kind",
            "quantity",
        ],
    )
    client.insert(
        "unmet_demand",
        unmet,
        column_names=[
            "event_id",
            "occurred_at",
            "channel",
            "sku",
            "location",
            "asked",
            "available",
            "short",
            "reason",
            "command",
        ],
    )
    return extra


def test_the_query_gives_the_history_the_happenings_give(facts: ClickHouseFacts) -> None:
    business = small_business()
    extra = seed(facts, business)
    last = (business.end - timedelta(days=1)).date()
    from_sql = read_history(facts.client, last, {})
    expected = assemble(facts_of(business, extra), last, {})
    assert len(from_sql.series) == len(expected.series) > 20
    for got, want in zip(from_sql.series, expected.series, strict=True):
        assert (got.sku, got.location, got.first_day) == (want.sku, want.location, want.first_day)
        for field in ("sold", "returned", "unmet", "stock_out", "out_all_day"):
            assert np.array_equal(getattr(got, field), getattr(want, field)), (got.sku, field)
        assert got.channel_mix == want.channel_mix
    # the refusal of no location went to the locations that sold the SKU on its channel
    assert sum(float(s.unmet.sum()) for s in from_sql.series) == 2.0 + 4.0 - from_sql.unplaced_unmet
    assert from_sql.unplaced_unmet == 0.0
    assert any(s.stock_out.any() for s in from_sql.series)  # 40 received; some sold past it


def with_promoted_product(store_url: str, facts: ClickHouseFacts, sku: str) -> Promotion:
    settings = Settings(event_store_url=store_url)
    ledger = open_ledger(settings)
    trace = Trace("backoffice", "tester", datetime(2025, 10, 1, tzinfo=UTC))
    product = Product.define("P-PROMO", {"name": "Promoted serum"}, trace)
    promotion = Promotion(
        str(uuid.uuid4()), 25, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC)
    )
    product.schedule_promotion(promotion, trace)
    ledger.save(product)
    ledger.close()
    facts.client.insert(
        "catalog_attributes",
        [("sku", sku, "product_code", "P-PROMO", 1, 1)],
        column_names=["entity", "code", "attribute", "value", "version", "position"],
    )
    return promotion


def test_glow_forecast_run_forecasts_every_series_with_the_ledgers_promotions(
    tmp_path: Path,
    facts: ClickHouseFacts,
    analytics_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("GLOW_EVENT_STORE_URL", store_url)
    monkeypatch.setenv("GLOW_ANALYTICS_URL", analytics_url)
    monkeypatch.setenv("GLOW_FORECAST_HORIZON_DAYS", "14")
    assert main(["migrate"]) == 0
    assert main(["forecast", "run", "--quiet"]) == 1  # nothing to learn from yet
    assert "no sales, returns, unmet demand or stock movements" in capsys.readouterr().err
    business = small_business()
    seed(facts, business)
    promoted_sku = sorted({h.sku for h in business.happenings})[0]
    with_promoted_product(store_url, facts, promoted_sku)

    ledger = open_ledger(Settings(event_store_url=store_url))
    try:
        history = demand_history(ledger, facts.client)
    finally:
        ledger.close()
    promoted = [s for s in history.series if s.sku == promoted_sku]
    assert promoted and all(s.on_promotion.sum() == 14 for s in promoted)
    assert not any(s.on_promotion.any() for s in history.series if s.sku != promoted_sku)

    assert main(["forecast", "run", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{len(history.series)} series" in out and "censored demand" in out
    assert "models chosen:" in out and "backtest mean MASE" in out
    store = ForecastStore(facts.client)
    run = store.latest_run()
    assert run is not None and run.series == len(history.series) and run.horizon == 14
    assert run.history_to == history.to_day and run.censored
    stored = store.latest_all()
    assert len(stored) == len(history.series)
    for forecast in stored:
        assert len(forecast.days) == 14 and forecast.days[0].day == run.history_to + timedelta(
            days=1
        )
        for day in forecast.days:
            assert day.mean >= 0 and list(day.quantiles) == sorted(day.quantiles)
    assert main(["forecast", "run", "--sales-only", "--horizon", "7"]) == 0  # with its bar
    latest = store.latest_run()
    assert latest is not None and not latest.censored and latest.horizon == 7
    assert main(["forecast", "run", "--quiet", "--to", "2020-01-01"]) == 1
    assert "no SKU has demand history up to 2020-01-01" in capsys.readouterr().err
    assert main(["forecast", "run", "--to", "yesterday"]) == 2
    assert "--to 'yesterday' is not an ISO day" in capsys.readouterr().err
    assert main(["forecast", "run", "--horizon", "0"]) == 2
    assert "--horizon 0 is out of range" in capsys.readouterr().err


def forecast(sku: str, location: str, run_id: str, made_at: datetime) -> DemandForecast:
    first = date(2026, 11, 2)
    days = tuple(
        DayDemand(first + timedelta(days=n), 2.0, tuple(2.0 + q for q in QUANTILES))
        for n in range(3)
    )
    return DemandForecast(sku, location, run_id, made_at, "Combination", 0.8, 1.0, 1.2, days)


@pytest.fixture
def client(tmp_path: Path, analytics_url: str) -> Iterator[httpx.Client]:
    settings = Settings(
        event_store_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        hot_views_url="memory://",
        analytics_url=analytics_url,
    )
    with (
        serve(settings) as ledger,
        httpx.Client(headers=auth_headers("analyst"), base_url=ledger.base_url, timeout=30) as http,
    ):
        yield http


def test_the_latest_forecast_of_a_sku_over_http(client: httpx.Client, analytics_url: str) -> None:
    assert client.get("/forecasts/A-30").status_code == 404
    facts = open_facts(analytics_url)
    made_at = datetime(2026, 11, 1, 6, tzinfo=UTC)
    ForecastStore(facts.client).write(
        ForecastRun("r1", made_at, date(2026, 11, 1), 3, 2, 0.5, True),
        [
            forecast("A-30", "STORE-PAR", "r1", made_at),
            forecast("A-30", "WH-CENTRAL", "r1", made_at),
        ],
    )
    answer = client.get("/forecasts/A-30")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["sku"], body["run_id"]) == ("A-30", "r1")
    assert [f["location"] for f in body["forecasts"]] == ["STORE-PAR", "WH-CENTRAL"]
    first = body["forecasts"][0]
    assert (first["model"], first["mase"], first["mase_naive"]) == ("Combination", 0.8, 1.0)
    assert first["days"][0] == {
        "day": "2026-11-02", "mean": 2.0,
        "q50": 2.5, "q80": 2.8, "q90": 2.9, "q95": 2.95, "q99": 2.99,
    }  # fmt: skip
    one = client.get("/forecasts/A-30", params={"location": "WH-CENTRAL"}).json()
    assert [f["location"] for f in one["forecasts"]] == ["WH-CENTRAL"]

    missing = client.get("/forecasts/A-30", params={"location": "STORE-LYO"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "STORE-LYO" in missing.json()["detail"]
    assert client.get("/forecasts/B-50").status_code == 404
    bad_sku = client.get("/forecasts/-A%20B")
    assert bad_sku.status_code == 422 and "is not a SKU code" in bad_sku.json()["detail"]
    bad_location = client.get("/forecasts/A-30", params={"location": "a b"})
    assert bad_location.status_code == 422 and bad_location.json()["parameter"] == "location"
    seller = client.get(
        "/forecasts/A-30", headers=auth_headers("store-staff", channel="pos", location="STORE-PAR")
    )
    assert seller.status_code == 403
