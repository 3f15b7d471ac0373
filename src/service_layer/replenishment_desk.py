"""Replenishment from the ledger and the latest forecasts: what each location holds (sellable
batches by expiry, reserved units), what is on its way (expected shipments with their days,
transfers in transit), its policy (or the settings' defaults) and the SKU's shelf life (the
median days from receipt to expiry of the batches received, else the setting). `plan` runs
the domain's planning over every series; `record` sends one plan per location to the writer
(suggestions and alerts as events, the open suggestions there superseded). Reads answer
`GET /replenishment/suggestions` and `glow replenish --show` from the books."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from configuration.settings import Settings
from domain.batch import ACTIVE
from domain.forecasts import DemandForecast, ForecastSource
from domain.ids import location_directory_id, stock_id
from domain.ledger import InventoryLedger
from domain.location import LocationDirectory
from domain.replenishment import (
    PolicyTerms,
    ReplenishmentBook,
    ReplenishmentPolicy,
    Suggestion,
    book_id,
    policy_id,
)
from domain.replenishment_commands import RecordReplenishmentPlan
from domain.replenishment_planning import Lot, Plan, Position, Series, plan
from domain.stock import Stock
from domain.trace import Trace
from service_layer.ledger_queries import get_aggregate, require_location, require_sku
from service_layer.writer import Outcome, Writer

PRINCIPAL = "glow replenish"
A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Defaults:
    """Where no policy is set (GLOW_REPLENISHMENT_*)."""

    terms: PolicyTerms
    shelf_life_days: int
    transfer_days: int


@dataclass
class Run:
    run_id: str
    today: date
    plan: Plan
    locations: list[str]  # the locations it plans for (their open suggestions superseded)
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def commands(self, trace: Trace) -> list[RecordReplenishmentPlan]:
        return [
            RecordReplenishmentPlan(
                where,
                self.run_id,
                tuple(s for s in self.plan.suggestions if s.location == where),
                tuple(a for a in self.plan.alerts if a["location"] == where),
                trace,
            )
            for where in self.locations
        ]


def defaults_from(settings: Settings) -> Defaults:
    terms = PolicyTerms(
        service_level=settings.replenishment_service_level,
        lead_time_days=settings.replenishment_lead_time_days,
        review_period_days=settings.replenishment_review_days,
    )
    return Defaults(
        terms, settings.replenishment_shelf_life_days, settings.replenishment_transfer_days
    )


class ReplenishmentDesk:
    """`forecasts` None: a desk that reads the books and policies only (the API)."""

    def __init__(
        self, ledger: InventoryLedger, defaults: Defaults, forecasts: ForecastSource | None = None
    ) -> None:
        self.ledger = ledger
        self.forecasts = forecasts
        self.defaults = defaults
        self._histories: dict[UUID, list[Any]] = {}

    def plan(
        self,
        today: date,
        location: str | None = None,
        advance: Callable[[int], None] | None = None,
    ) -> Run:
        """A plan from the latest forecasts of every location (transfers may come from any),
        for `location` only when named."""
        if location is not None:
            require_location(self.ledger, location)
        if self.forecasts is None:
            raise TypeError("this desk was opened without forecasts: it cannot plan")
        found = self.forecasts.latest_all()
        self._histories = {}
        series = []
        shelf_lives = self._shelf_lives({f.sku for f in found})
        for forecast in found:
            series.append(self._series(forecast, today, shelf_lives))
            if advance is not None:
                advance(1)
        planned = plan(series, today, self.defaults.transfer_days)
        self._histories = {}
        places = sorted({f.location for f in found} | set(self._books()))
        if location is not None:
            places = [location]
        if not found:  # no forecast (yet, or lost): the open suggestions stay as they are
            places = []
        run_id = f"{today.isoformat()}-{uuid4().hex[:12]}"
        return Run(run_id, today, planned, places)

    def record(
        self,
        run: Run,
        writer: Writer,
        now: datetime | None = None,
        advance: Callable[[int], None] | None = None,
    ) -> Run:
        """One command per location; each run's key makes a retry answer the same."""
        trace = Trace("backoffice", PRINCIPAL, now or datetime.now(tz=UTC))
        for command in run.commands(trace):
            key = f"replenish:{run.run_id}:{command.location}"
            run.outcomes[command.location] = writer.execute(command, key)
            if advance is not None:
                advance(1)
        return run

    # --- reads ---------------------------------------------------------------------------

    def open_suggestions(self, location: str | None = None) -> list[dict[str, Any]]:
        """The open suggestions of one location (every location's when None), oldest first."""
        if location is not None:
            require_location(self.ledger, location)
        places = [location] if location is not None else self._books()
        found = []
        for where in places:
            book = self._get(book_id(where), ReplenishmentBook)
            for suggestion_id in book.open_ids() if book else []:
                suggestion = self._get(suggestion_id, Suggestion)
                if suggestion is not None:
                    found.append(suggestion.as_dict())
        return found

    def policy(self, sku: str, location: str) -> dict[str, Any]:
        """The terms in force for `sku` at `location`; a SKU not in the catalog or a location
        not registered is refused, as setting a policy for them would be."""
        require_sku(self.ledger, sku)
        require_location(self.ledger, location)
        found = self._get(policy_id(sku, location), ReplenishmentPolicy)
        terms = found.terms if found is not None and found.terms else None
        return {
            "sku": sku,
            "location": location,
            "terms": (terms or self.defaults.terms).as_dict(),
            "from_settings": terms is None,
        }

    # --- inputs --------------------------------------------------------------------------

    def _series(self, forecast: DemandForecast, today: date, shelf_lives: dict[str, int]) -> Series:
        sku, where = forecast.sku, forecast.location
        policy = self._get(policy_id(sku, where), ReplenishmentPolicy)
        terms = policy.terms if policy is not None and policy.terms else self.defaults.terms
        shelf = terms.shelf_life_days or shelf_lives.get(sku) or self.defaults.shelf_life_days
        stock = self._get(stock_id(sku, where), Stock)
        if stock is None:
            return Series(Position(sku, where, today, (), 0, (), shelf), forecast, terms)
        on_hand = tuple(
            Lot(b.number, b.expiry, float(b.available(today)), today)
            for b in stock.batches.values()
            if b.available(today) > 0
        )
        reserved = sum(max(b.reserved, 0) for b in stock.batches.values())
        incoming = self._incoming(stock, today, shelf)
        return Series(
            Position(sku, where, today, on_hand, reserved, incoming, shelf), forecast, terms
        )

    def _incoming(self, stock: Stock, today: date, shelf: int) -> tuple[Lot, ...]:
        """Expected shipments (their announced or delayed day, at the latest today; a fresh
        batch's shelf life) and transfers in transit (arriving after the transfer days)."""
        days = self._expected_days(stock) if stock.incoming else {}
        lots = []
        for ref, units in sorted(stock.incoming.items()):
            arrives = max(days.get(ref, today), today)
            lots.append(
                Lot(ref, arrives + timedelta(days=shelf), float(units), arrives, "shipment")
            )
        arrival = today + timedelta(days=self.defaults.transfer_days)
        for transfer, on_the_way in sorted(stock.in_transit.items()):
            for number, line in sorted(on_the_way["batches"].items()):
                if line["status"] != ACTIVE:
                    continue
                expiry = date.fromisoformat(line["expiry"])
                name = f"{number} (transfer {transfer[:8]})"
                lots.append(Lot(name, expiry, float(line["quantity"]), arrival, "transfer"))
        return tuple(lots)

    def _expected_days(self, stock: Stock) -> dict[str, date]:
        days: dict[str, date] = {}
        for event in self._history(stock.id):
            if isinstance(event, Stock.IncomingShipmentExpected | Stock.IncomingShipmentDelayed):
                days[event.shipment_ref] = event.expected_on
        return days

    def _shelf_lives(self, skus: Iterable[str]) -> dict[str, int]:
        """Per SKU, the median days from receipt to expiry of the batches received anywhere."""
        codes = self._locations()
        found = {}
        for sku in skus:
            spans = [
                (e.expiry - e.trace.occurred_at.date()).days
                for where in codes
                for e in self._history(stock_id(sku, where))
                if isinstance(e, Stock.BatchReceived)
            ]
            spans = [s for s in spans if s > 0]
            if spans:
                found[sku] = round(statistics.median(spans))
        return found

    def _history(self, aggregate_id: UUID) -> list[Any]:
        """A stock's events, read once per plan (the shipments' days and the shelf lives)."""
        if aggregate_id not in self._histories:
            self._histories[aggregate_id] = list(self.ledger.events.get(aggregate_id))
        return self._histories[aggregate_id]

    def _locations(self) -> list[str]:
        directory = self._get(location_directory_id(), LocationDirectory)
        return list(directory.codes) if directory else []

    def _books(self) -> list[str]:
        return [c for c in self._locations() if self._get(book_id(c), ReplenishmentBook)]

    def _get(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        return get_aggregate(self.ledger, aggregate_id, kind)
