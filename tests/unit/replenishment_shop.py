"""Replenishment in the tiny shop: forecasts, policies and plans in business words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from memory_uow import MemoryUnitOfWork
from shop import NOW, RED, STORE, TODAY, WAREHOUSE, trace

from domain.forecasts import QUANTILES, DayDemand, DemandForecast
from domain.replenishment import PURCHASE, TRANSFER, PolicyTerms, SuggestionDraft
from domain.replenishment_commands import (
    AcceptSuggestion,
    RecordReplenishmentPlan,
    SetReplenishmentPolicy,
)

TERMS = PolicyTerms(service_level=0.95, lead_time_days=7, review_period_days=7)


def forecast(
    daily: float | list[float],
    sku: str = RED,
    location: str = STORE,
    start: date = TODAY,
    days: int = 28,
    rmse: float = 0.0,
) -> DemandForecast:
    means = daily if isinstance(daily, list) else [daily] * days
    return DemandForecast(
        sku=sku,
        location=location,
        run_id="run-1",
        made_at=datetime(2025, 3, 1, tzinfo=UTC),
        model="test",
        mase=0.5,
        mase_naive=1.0,
        daily_rmse=rmse,
        days=tuple(
            DayDemand(start + timedelta(days=n), m, tuple(m for _ in QUANTILES))
            for n, m in enumerate(means)
        ),
    )


def purchase(quantity: int = 12, where: str = STORE) -> SuggestionDraft:
    arrive = TODAY + timedelta(days=7)
    return SuggestionDraft(PURCHASE, RED, where, None, quantity, arrive, ("low",), {"n": 1})


def transfer(quantity: int = 3, to: str = STORE, source: str = WAREHOUSE) -> SuggestionDraft:
    arrive = TODAY + timedelta(days=1)
    return SuggestionDraft(TRANSFER, RED, to, source, quantity, arrive, ("spare",), {})


def record(run_id: str, *drafts: SuggestionDraft, where: str = STORE) -> RecordReplenishmentPlan:
    alerts = ({"kind": "low_stock", "sku": RED, "location": where, "reason": "runs out"},)
    return RecordReplenishmentPlan(where, run_id, drafts, alerts, trace())


def a_replenishment_day(uow: MemoryUnitOfWork) -> None:
    """A policy set, a plan recorded and superseded by the next, a suggestion accepted."""
    uow.run(SetReplenishmentPolicy(RED, STORE, TERMS, trace()))
    uow.run(record("run-a", purchase()))
    made = uow.run(record("run-b", purchase(6), transfer(1))).body["made"]
    uow.run(AcceptSuggestion(UUID(made[0]), trace(NOW + timedelta(minutes=5))))
