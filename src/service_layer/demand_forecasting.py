"""One forecasting run from the stores: the demand history from the analytics database (with
the promotions of each SKU's product, which only the ledger holds), every series forecast
(forecasting/run.py), the run written to the ForecastStore."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date

from clickhouse_connect.driver.client import Client

from domain.catalog import Product
from domain.ids import product_id
from domain.ledger import InventoryLedger
from domain.promotions import Promotion
from forecasting.run import RunOutcome, run
from projections.demand_history import DemandHistory, last_fact_day, read_history
from projections.forecast_store import ForecastStore
from service_layer.ledger_queries import get_aggregate


class NoDemandHistoryError(RuntimeError):
    """The analytics database holds no sale, return, unmet demand or stock movement."""


def promotions_by_sku(
    ledger: InventoryLedger, client: Client, skus: Iterable[str]
) -> dict[str, tuple[Promotion, ...]]:
    """The promotions (withdrawn ones left out) of each SKU's product, from the ledger's
    products; the SKU -> product map from the facts' catalog."""
    wanted = set(skus)
    products: dict[str, list[str]] = {}
    rows = client.query("SELECT sku, product_code FROM sku_catalog").result_rows
    for sku, code in rows:
        if sku in wanted and code:
            products.setdefault(str(code), []).append(str(sku))
    found: dict[str, tuple[Promotion, ...]] = {}
    for code, its_skus in products.items():
        product = get_aggregate(ledger, product_id(code), Product)
        if product is None or not product.promotions:
            continue
        live = tuple(product.live_promotions())
        found.update(dict.fromkeys(its_skus, live))
    return found


def demand_history(
    ledger: InventoryLedger, client: Client, to_day: date | None = None
) -> DemandHistory:
    """The history up to `to_day` (default: the last day with facts)."""
    last = to_day or last_fact_day(client)
    if last is None:
        raise NoDemandHistoryError(
            "the analytics database has no sales, returns, unmet demand or stock movements "
            "to learn from; project the ledger into it first (glow serve, or glow rebuild facts)"
        )
    skus = [
        str(row[0])
        for row in client.query(
            "SELECT DISTINCT sku FROM sales_lines"
            " UNION DISTINCT SELECT DISTINCT sku FROM unmet_demand"
        ).result_rows
    ]
    return read_history(client, last, promotions_by_sku(ledger, client, skus))


def forecast_demand(
    ledger: InventoryLedger,
    client: Client,
    store: ForecastStore,
    horizon: int,
    censored: bool,
    to_day: date | None = None,
    workers: int | None = None,
    started: Callable[[int], Callable[[int], None]] = lambda total: lambda done: None,
) -> RunOutcome:
    """Read, forecast and store one run; `started(series)` gives the progress callback. The
    run's seconds count the reading too."""
    began = time.perf_counter()
    history = demand_history(ledger, client, to_day)
    if not history.series:
        raise NoDemandHistoryError(
            f"no SKU has demand history up to {history.to_day}; expected sales, returns, unmet "
            "demand or stock movements on or before it"
        )
    outcome = run(history, horizon, censored, workers, started(len(history.series)))
    outcome = replace(outcome, run=replace(outcome.run, seconds=time.perf_counter() - began))
    store.write(outcome.run, outcome.forecasts)
    return outcome
