"""The demo business's demand facts, aggregated as projections/demand_history.py's query does
from the ClickHouse facts (units per kind, SKU, location, channel and UTC day), without
seeding a ledger: for the forecasting tests and scripts/bench_forecast.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from demo.business import Business
from domain.promotions import Promotion
from projections.demand_history import RETURNED, SOLD, DemandFacts, DemandHistory, assemble
from recommender.signals import PURCHASE, RETURN

Key = tuple[str, str, str, str, date]


def facts_of(business: Business, extra: Mapping[Key, float] | None = None) -> DemandFacts:
    """Purchases as sales, returns as returns, up to the year's end; `extra` adds rows."""
    units: dict[Key, float] = defaultdict(float)
    for h in business.happenings:
        if h.at >= business.end or h.kind not in (PURCHASE, RETURN):
            continue
        kind = SOLD if h.kind == PURCHASE else RETURNED
        units[(kind, h.sku, h.location, h.channel, h.at.date())] += h.value
    for key, n in (extra or {}).items():
        units[key] += n
    return table(units)


def table(units: Mapping[Key, float]) -> DemandFacts:
    keys = sorted(units)
    return DemandFacts(
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [k[3] for k in keys],
        [k[4] for k in keys],
        [units[k] for k in keys],
    )


def promotions_of(business: Business) -> dict[str, Sequence[Promotion]]:
    return {
        sku: p.facts.promotions
        for p in business.products.values()
        for sku in p.facts.skus
        if p.facts.promotions
    }


def demand_history(business: Business) -> DemandHistory:
    """The business's demand history to the last day of its year."""
    last = (business.end - timedelta(days=1)).date()
    return assemble(facts_of(business), last, promotions_of(business))
