"""Replenishment planning: pure functions from what a location holds, what is on its way,
the forecast and the policy, to purchase and transfer suggestions and alerts, each with its
reasons in words.

Everything rests on one simulation, `sell_through`: the forecast's mean demand of each day
drawn from the batches first-expired-first-out, a batch sellable on the days before its
expiry. Units that will expire unsold are not counted as stock ("usable" units are those the
simulation sells), and a new batch is never larger than the demand between its arrival and
its expiry that the batches there before it leave (the shelf-life cap)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from domain.forecasts import DemandForecast
from domain.replenishment import (
    EXPIRY_RISK,
    LOW_STOCK,
    PURCHASE,
    TRANSFER,
    PolicyTerms,
    SuggestionDraft,
)

EPSILON = 1e-6  # the simulation's units are fractional; below this nothing is left
PLANNED = "planned"  # the source of a lot this plan suggests (a transfer or a purchase)
LONGEST_SIMULATION_DAYS = 3 * 365


@dataclass(frozen=True)
class Lot:
    """Units of one batch that count at a location from `arrives` (today for those on the
    shelf), sellable on the days before `expiry`. `source` says what it is: a batch on hand,
    an expected shipment, a transfer in transit, a new purchase."""

    name: str
    expiry: date
    units: float
    arrives: date
    source: str = "on_hand"


@dataclass(frozen=True)
class Position:
    """A SKU at a location as the ledger has it today: free units by batch (sellable, not
    reserved), units reserved, and what is on its way."""

    sku: str
    location: str
    today: date
    on_hand: tuple[Lot, ...]
    reserved: int
    incoming: tuple[Lot, ...] = ()
    shelf_life_days: int = 365

    def lots(self) -> tuple[Lot, ...]:
        return (*self.on_hand, *self.incoming)

    def free_units(self) -> int:
        return round(sum(lot.units for lot in self.on_hand))


@dataclass(frozen=True)
class LotOutcome:
    lot: Lot
    sold: float
    unsold: float  # expires unsold (at the forecast rate)
    sold_out_on: date | None


@dataclass(frozen=True)
class SellThrough:
    lots: tuple[LotOutcome, ...]
    stockout_on: date | None  # the first day demand finds nothing (within the days simulated)
    daily_level: dict[date, float] = field(repr=False)  # units left at each day's start
    daily_sold: dict[date, float] = field(repr=False)

    def sold(self) -> float:
        return sum(o.sold for o in self.lots)

    def sold_between(self, start: date, end: date) -> float:
        return sum(self.daily_sold.get(d, 0.0) for d in _days(start, end))

    def level_on(self, day: date) -> float:
        return self.daily_level.get(day, 0.0)


class DailyDemand:
    """A forecast's mean demand per day, as `DemandForecast.mean_between` counts it: the days
    forecast, the horizon's average rate beyond them, nothing before them."""

    def __init__(self, forecast: DemandForecast) -> None:
        self.by_day = {d.day: d.mean for d in forecast.days}
        self.last = forecast.days[-1].day if forecast.days else None
        self.rate = forecast.daily_rate()

    def on(self, day: date) -> float:
        if day in self.by_day:
            return self.by_day[day]
        return self.rate if self.last is not None and day > self.last else 0.0

    def between(self, start: date, end: date) -> float:
        return sum(self.on(d) for d in _days(start, end))


def sell_through(
    lots: Iterable[Lot], demand: DailyDemand, today: date, until: date | None = None
) -> SellThrough:
    """Each day from today, the day's mean demand drawn from the lots that have arrived and
    not expired, earliest expiry first; until every lot has expired, and at least `until`
    (so that a stock-out after the last expiry is seen)."""
    ordered = sorted(lots, key=lambda lot: (lot.expiry, lot.arrives, lot.name))
    left = [lot.units for lot in ordered]
    sold_out: list[date | None] = [None] * len(ordered)
    end = max([until or today, *(lot.expiry for lot in ordered)])
    end = min(end, today + timedelta(days=LONGEST_SIMULATION_DAYS))
    stockout: date | None = None
    level: dict[date, float] = {}
    by_day: dict[date, float] = {}
    for day in _days(today, end):
        live = [
            i
            for i, lot in enumerate(ordered)
            if lot.arrives <= day < lot.expiry and left[i] > EPSILON
        ]
        level[day] = sum(left[i] for i in live)
        want = demand.on(day)
        for i in live:
            if want <= EPSILON:
                break
            take = min(left[i], want)
            left[i] -= take
            want -= take
            by_day[day] = by_day.get(day, 0.0) + take
            if left[i] <= EPSILON:
                sold_out[i] = day
        if want > EPSILON and stockout is None:
            stockout = day
    outcomes = []
    for i, lot in enumerate(ordered):
        unsold = left[i] if left[i] > EPSILON else 0.0
        outcomes.append(LotOutcome(lot, lot.units - left[i], unsold, sold_out[i]))
    return SellThrough(tuple(outcomes), stockout, level, by_day)


@dataclass(frozen=True)
class Levels:
    """A policy's figures for one position: the reorder point and the order-up-to level."""

    reorder_point: int
    order_up_to: int
    arrive_by: date


def levels(forecast: DemandForecast, terms: PolicyTerms, today: date) -> Levels:
    """Reorder point: demand over the lead time at the service level (at least `min_units`);
    order-up-to: over the lead time and the review period (at most `max_units`)."""
    arrive = today + timedelta(days=terms.lead_time_days)
    cover = arrive + timedelta(days=terms.review_period_days)
    reorder = math.ceil(forecast.demand_at_service_level(today, arrive, terms.service_level))
    reorder = max(reorder, terms.min_units or 0)
    covered = forecast.demand_at_service_level(today, cover, terms.service_level)
    up_to = max(reorder, math.ceil(covered))
    if terms.max_units is not None:
        up_to = min(up_to, terms.max_units)
        reorder = min(reorder, up_to)
    return Levels(reorder, up_to, arrive)


@dataclass(frozen=True)
class Plan:
    suggestions: tuple[SuggestionDraft, ...]
    alerts: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Series:
    """One SKU at one location with everything planning needs."""

    position: Position
    forecast: DemandForecast
    terms: PolicyTerms


def plan(series: Sequence[Series], today: date, transfer_days: int = 1) -> Plan:
    """Suggestions and alerts for every series. Per SKU, locations below their reorder point
    are served first by transfers from locations holding more than they will sell or need,
    then by purchases for what is left."""
    by_sku: dict[str, list[Series]] = {}
    for s in series:
        by_sku.setdefault(s.position.sku, []).append(s)
    suggestions: list[SuggestionDraft] = []
    alerts: list[dict[str, Any]] = []
    for sku in sorted(by_sku):
        found, raised = _plan_sku(by_sku[sku], today, transfer_days)
        suggestions += found
        alerts += raised
    return Plan(tuple(suggestions), tuple(alerts))


@dataclass
class _State:
    series: Series
    demand: DailyDemand
    levels: Levels
    through: SellThrough
    usable: float  # units on hand and on their way that sell before expiry
    through_until: date  # the simulation runs at least to the end of the review period
    transferable: list[Lot] = field(default_factory=list)  # FEFO, what may leave


def _plan_sku(
    group: list[Series], today: date, transfer_days: int
) -> tuple[list[SuggestionDraft], list[dict[str, Any]]]:
    states = []
    alerts: list[dict[str, Any]] = []
    for s in sorted(group, key=lambda s: s.position.location):
        demand = DailyDemand(s.forecast)
        lv = levels(s.forecast, s.terms, today)
        horizon = lv.arrive_by + timedelta(days=s.terms.review_period_days)
        through = sell_through(s.position.lots(), demand, today, horizon)
        state = _State(s, demand, lv, through, through.sold(), horizon)
        state.transferable = _transferable(state)
        states.append(state)
        alerts += _alerts(state, today)
    suggestions: list[SuggestionDraft] = []
    for state in sorted(states, key=lambda st: st.usable - st.levels.reorder_point):
        if state.usable > state.levels.reorder_point:
            continue
        need = state.levels.order_up_to - state.usable
        moved_any = False
        for donor in sorted(states, key=lambda st: -sum(lot.units for lot in st.transferable)):
            if need < 1 or donor is state or not donor.transferable:
                continue
            moved = _transfer(donor, state, math.floor(need), today, transfer_days)
            if moved is not None:
                suggestions.append(moved)
                need -= moved.quantity
                moved_any = True
        if need >= 1 or (need > EPSILON and not moved_any):  # what transfers left, if any
            bought = _purchase(state, need, today)
            if bought is not None:
                suggestions.append(bought)
    return suggestions, alerts


def _transferable(state: _State) -> list[Lot]:
    """What a location may give: its free units beyond those it will sell and needs to keep
    (the order-up-to level), earliest expiry first (a transfer takes them FEFO)."""
    position = state.series.position
    on_hand = [o for o in state.through.lots if o.lot.source == "on_hand"]
    keep = min(state.usable, float(state.levels.order_up_to))
    spare = math.floor(position.free_units() - keep + EPSILON)
    if spare < 1:
        return []
    out = []
    for outcome in sorted(on_hand, key=lambda o: (o.lot.expiry, o.lot.name)):
        take = min(math.floor(outcome.lot.units + EPSILON), spare)
        if take >= 1:
            out.append(replace(outcome.lot, units=float(take)))
            spare -= take
        if spare < 1:
            break
    return out


def _transfer(
    donor: _State, receiver: _State, need: int, today: date, transfer_days: int
) -> SuggestionDraft | None:
    """The longest FEFO prefix of the donor's spare units, at most `need`, that the receiver
    sells before they expire without leaving unsold what was planned for it before."""
    arrives = today + timedelta(days=transfer_days)
    offered = [replace(lot, arrives=arrives, source=PLANNED) for lot in donor.transferable]
    most = min(need, math.floor(sum(lot.units for lot in offered) + EPSILON))

    def prefix(quantity: int) -> list[Lot]:
        left, found = quantity, []
        for lot in offered:
            take = min(left, math.floor(lot.units + EPSILON))
            if take >= 1:
                found.append(replace(lot, units=float(take)))
                left -= take
        return found

    quantity = _most_that_sells(receiver, today, most, prefix)
    if quantity < 1:
        return None
    taken = prefix(quantity)
    usable_before = receiver.usable
    _take_from(donor, quantity)
    receiver.series = replace(
        receiver.series,
        position=replace(
            receiver.series.position, incoming=(*receiver.series.position.incoming, *taken)
        ),
    )
    receiver.through = sell_through(
        receiver.series.position.lots(), receiver.demand, today, receiver.through_until
    )
    receiver.usable = receiver.through.sold()
    source, target = donor.series.position, receiver.series.position
    sl = receiver.series.terms.service_level
    keeps = min(donor.usable, donor.levels.order_up_to)
    batches = ", ".join(f"{lot.name} to {lot.expiry.isoformat()}" for lot in taken)
    reasons = (
        f"{target.location} has {_units(usable_before)} usable against a reorder "
        f"point of {receiver.levels.reorder_point} (lead time "
        f"{receiver.series.terms.lead_time_days} d, {sl:.0%} service)",
        f"{source.location} holds {_units(source.free_units())} free, more than it sells "
        f"before expiry or needs (it keeps {_units(keeps)})",
        f"all {quantity} sell at {target.location} before they expire ({batches})",
    )
    inputs = {
        "today": today.isoformat(),
        "batches": {lot.name: int(lot.units) for lot in taken},
        "receiver": _inputs(receiver),
        "donor": _inputs(donor),
    }
    return SuggestionDraft(
        TRANSFER, target.sku, target.location, source.location, quantity, arrives, reasons, inputs
    )


def _most_that_sells(
    state: _State, today: date, most: int, lots: Callable[[int], list[Lot]]
) -> int:
    """The largest n <= `most` such that with `lots(n)` added at this location every planned
    lot (those and the ones planned here before) sells before it expires: fewer units can
    only sell as well, so a binary search finds it."""

    def sells(n: int) -> bool:
        added = [*state.series.position.lots(), *lots(n)]
        outcome = sell_through(added, state.demand, today, state.through_until)
        return all(o.unsold <= EPSILON for o in outcome.lots if o.lot.source == PLANNED)

    low, high = 0, max(most, 0)
    while low < high:
        middle = (low + high + 1) // 2
        if sells(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _take_from(donor: _State, quantity: int) -> None:
    """The donor's spare units after `quantity` of them leave (FEFO)."""
    left = quantity
    kept = []
    for lot in donor.transferable:
        take = min(lot.units, left)
        left -= int(take)
        if lot.units - take >= 1:
            kept.append(replace(lot, units=lot.units - take))
    donor.transferable = kept


def _purchase(state: _State, need: float, today: date) -> SuggestionDraft | None:
    """`need` rounded up to the order multiple (and the minimum order), then capped at what
    sells between the new batch's arrival and its expiry after the units there before it."""
    position, terms, lv = state.series.position, state.series.terms, state.levels
    arrive = lv.arrive_by
    expiry = arrive + timedelta(days=position.shelf_life_days)
    cap = math.floor(
        state.demand.between(arrive, expiry) - state.through.sold_between(arrive, expiry) + EPSILON
    )
    wanted = max(math.ceil(need - EPSILON), terms.minimum_order)
    multiple = terms.order_multiple
    quantity = math.ceil(wanted / multiple) * multiple
    capped = quantity > cap
    if capped:
        quantity = (max(cap, 0) // multiple) * multiple

    def batch(multiples: int) -> list[Lot]:
        units = float(multiples * multiple)
        return [Lot("new", expiry, units, arrive, PLANNED)] if multiples else []

    # A new batch that expires before units planned here earlier must not leave them unsold.
    sells = _most_that_sells(state, today, quantity // multiple, batch) * multiple
    capped, quantity = capped or sells < quantity, sells
    if quantity < 1 or quantity < terms.minimum_order:
        return None
    projected = state.through.level_on(arrive)
    reasons = [
        f"projected {_units(projected)} on {arrive.isoformat()} against a reorder point of "
        f"{lv.reorder_point} (lead time {terms.lead_time_days} d, "
        f"{terms.service_level:.0%} service); {_units(state.usable)} on hand and on the way "
        f"sell before expiry",
        f"order up to {lv.order_up_to} (lead time and a review period of "
        f"{terms.review_period_days} d): {_units(need)} needed",
    ]
    if multiple > 1 or terms.minimum_order:
        reasons.append(
            f"rounded up to a multiple of {multiple}"
            + (f", at least {terms.minimum_order}" if terms.minimum_order else "")
        )
    if capped:
        reasons.append(
            f"capped at {quantity}: about {_units(cap)} sell between {arrive.isoformat()} and "
            f"the new batch's expiry {expiry.isoformat()} (shelf life "
            f"{position.shelf_life_days} d) after the stock already there"
        )
    inputs = {
        "today": today.isoformat(),
        "shelf_life_days": position.shelf_life_days,
        "expiry_expected": expiry.isoformat(),
        "cap": cap,
        **_inputs(state),
    }
    return SuggestionDraft(
        PURCHASE, position.sku, position.location, None, quantity, arrive, tuple(reasons), inputs
    )


def _alerts(state: _State, today: date) -> list[dict[str, Any]]:
    position, terms = state.series.position, state.series.terms
    found = []
    arrive = state.levels.arrive_by
    out = state.through.stockout_on
    if out is not None and out < arrive and state.demand.between(today, arrive) > EPSILON:
        found.append(
            {
                "kind": LOW_STOCK,
                "sku": position.sku,
                "location": position.location,
                "runs_out_on": out.isoformat(),
                "usable": round(state.usable, 1),
                "lead_time_days": terms.lead_time_days,
                "reason": f"{position.sku} at {position.location} runs out on "
                f"{out.isoformat()} at the forecast rate, within the lead time of "
                f"{terms.lead_time_days} d ({_units(state.usable)} usable, "
                f"{position.reserved} reserved)",
            }
        )
    for outcome in state.through.lots:
        at_risk = math.ceil(outcome.unsold - EPSILON)
        if outcome.lot.source != "on_hand" or at_risk < 1:
            continue
        found.append(
            {
                "kind": EXPIRY_RISK,
                "sku": position.sku,
                "location": position.location,
                "batch": outcome.lot.name,
                "expiry": outcome.lot.expiry.isoformat(),
                "units_at_risk": at_risk,
                "reason": f"about {at_risk} of {_units(outcome.lot.units)} of batch "
                f"{outcome.lot.name} will not sell before it expires on "
                f"{outcome.lot.expiry.isoformat()} at the forecast rate: a markdown candidate",
            }
        )
    return found


def _inputs(state: _State) -> dict[str, Any]:
    position, terms, f = state.series.position, state.series.terms, state.series.forecast
    return {
        "location": position.location,
        "free": position.free_units(),
        "reserved": position.reserved,
        "usable": round(state.usable, 2),
        "batches": [
            {"batch": lot.name, "expiry": lot.expiry.isoformat(), "units": lot.units}
            for lot in position.on_hand
        ],
        "incoming": [
            {"ref": lot.name, "units": lot.units, "arrives": lot.arrives.isoformat()}
            for lot in position.incoming
        ],
        "reorder_point": state.levels.reorder_point,
        "order_up_to": state.levels.order_up_to,
        "terms": terms.as_dict(),
        "forecast": {
            "run_id": f.run_id,
            "model": f.model,
            "daily_rate": round(f.daily_rate(), 3),
            "daily_rmse": round(f.daily_rmse, 3),
        },
    }


def _units(value: float) -> str:
    return f"{value:.0f} units" if abs(value - round(value)) < 0.05 else f"{value:.1f} units"


def _days(start: date, end: date) -> Iterable[date]:
    for n in range(max(0, (end - start).days)):
        yield start + timedelta(days=n)
