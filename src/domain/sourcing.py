"""Sourcing: which locations fulfil an order, decided as a pure function.

Input: the order's lines (a kit line names its components), the delivery (an address with
coordinates, or a pickup store), the channel's policy, the sellable batches per (SKU,
location) and the facts of every location. Output: a decision (per line the locations,
quantities and batches, first-expired-first-out above the channel's minimum shelf life) with a
reason for every location considered, or a refusal that says why no location can serve.

Nothing here reads a clock or a store: the same input always gives the same decision, ties
broken by location code. Bad input (a zero quantity, a pickup at a warehouse) is a domain error;
stock that cannot serve the order is a refusal, so a quote can answer it without raising.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from domain.errors import CannotSourceError, InvalidCommandError, UnknownLocationError
from domain.location import Location, distance_km
from domain.stock import Stock

PRIORITY = "priority"  # the channel's list of locations, in its order
NEAREST = "nearest"  # the nearest locations with stock first
FEWEST_SHIPMENTS = "fewest_shipments"  # as few locations as possible, nearest first on a tie
STRATEGIES = (PRIORITY, NEAREST, FEWEST_SHIPMENTS)

STORE = "store"
SHIP = "ship"
PICKUP = "pickup"

# Why a location was or was not used, one code each (the decision's `reasons`).
USED = "used"
NOT_THE_PICKUP_STORE = "not-the-pickup-store"
NOT_ALLOWED_FOR_CHANNEL = "not-allowed-for-channel"
SHIP_FROM_STORE_OFF = "ship-from-store-off"
NO_STOCK = "no-stock"
SHELF_LIFE_TOO_SHORT = "shelf-life-too-short"
NOT_ENOUGH_AFTER_BUFFER = "not-enough-after-buffer"
CANNOT_SERVE_EVERY_LINE = "cannot-serve-every-line"
NOT_NEEDED = {PRIORITY: "lower-priority", NEAREST: "farther", FEWEST_SHIPMENTS: "more-shipments"}
PARTIAL_STOCK = "partial-stock"
# The detail of a location the walk never reached: ranked after those that served the order,
# its stock was not counted (a decision reads only the locations it needs).
NOT_REACHED = "ranked after the locations that served the order; its stock was not counted"


# --- input --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineToSource:
    """An order line: `quantity` of `sku`; a kit's line lists its components (SKU, units per
    kit), and each kit is taken whole from one location where possible."""

    line_id: str
    sku: str
    quantity: int
    components: tuple[tuple[str, int], ...] = ()

    def parts(self) -> tuple[tuple[str, int], ...]:
        return self.components or ((self.sku, 1),)


@dataclass(frozen=True)
class ShipTo:
    latitude: float
    longitude: float

    def as_dict(self) -> dict[str, Any]:
        return {"method": SHIP, "latitude": self.latitude, "longitude": self.longitude}


@dataclass(frozen=True)
class PickUpAt:
    store: str

    def as_dict(self) -> dict[str, Any]:
        return {"method": PICKUP, "store": self.store}


Delivery = ShipTo | PickUpAt


def delivery_from_dict(data: Mapping[str, Any]) -> Delivery:
    if data["method"] == PICKUP:
        return PickUpAt(data["store"])
    return ShipTo(data["latitude"], data["longitude"])


@dataclass(frozen=True)
class SellableBatch:
    """Units of one batch that could be sold now (sellable, not held by anyone)."""

    number: str
    expiry: date
    free: int


@dataclass(frozen=True)
class Place:
    """What sourcing needs to know of a location."""

    code: str
    kind: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class SourcingPolicy:
    """A channel's rules for choosing locations (its `SalesChannel` makes one)."""

    channel: str
    strategy: str = NEAREST
    priority: tuple[str, ...] = ()
    ship_from_store: bool = True
    split_allowed: bool = True
    min_shelf_life_days: int = 0
    locations: frozenset[str] | None = None  # where the channel may sell from; None: anywhere
    safety_buffer: Mapping[str, int] = field(default_factory=dict)  # per SKU, at each location
    kept_for_others: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (SKU, loc)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidCommandError(
                f"sourcing strategy {self.strategy!r} is unknown: expected one of "
                f"{', '.join(STRATEGIES)}"
            )
        if self.min_shelf_life_days < 0:
            raise InvalidCommandError(
                f"minimum shelf life must be 0 days or more, got {self.min_shelf_life_days}"
            )

    def may_sell_from(self, location: str) -> bool:
        return self.locations is None or location in self.locations

    def withheld(self, sku: str, location: str) -> int:
        """Units of `sku` at `location` this channel may not take: its own safety buffer and
        what other channels keep ring-fenced there."""
        return self.safety_buffer.get(sku, 0) + self.kept_for_others.get((sku, location), 0)

    def earliest_expiry(self, today: date) -> date:
        """The earliest expiry a unit may have to be sold on this channel today."""
        return today + timedelta(days=self.min_shelf_life_days)


def sellable_batches(stock: Stock, today: date) -> tuple[SellableBatch, ...]:
    """A stock's free, sellable batches, first-expired first: sourcing's view of it."""
    found = [
        SellableBatch(b.number, b.expiry, b.available(today))
        for b in stock.batches.values()
        if b.available(today) > 0
    ]
    return tuple(sorted(found, key=lambda b: (b.expiry, b.number)))


def place_of(location: Location) -> Place:
    return Place(location.code, location.kind, location.latitude, location.longitude)


@dataclass(frozen=True)
class StockCount:
    """What one location holds of one SKU, as this channel sees it."""

    free: int  # sellable and not held
    long_dated: int  # of those, expiring no earlier than the channel's minimum shelf life
    withheld: int  # kept back from this channel (safety buffer, others' ring-fenced pools)
    usable: int  # what the channel may take: long-dated, and free beyond what is kept back

    def explain(self, sku: str) -> str:
        return (
            f"{sku}: {self.free} free, {self.free - self.long_dated} too close to expiry, "
            f"{self.withheld} kept back, {self.usable} usable"
        )


def count_stock(
    batches: Iterable[SellableBatch], withheld: int, earliest_expiry: date
) -> StockCount:
    free = long_dated = 0
    for batch in batches:
        free += batch.free
        if batch.expiry >= earliest_expiry:
            long_dated += batch.free
    return StockCount(free, long_dated, withheld, max(0, min(long_dated, free - withheld)))


# --- output -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """Units of one SKU of one order line taken at one location, batch by batch."""

    location: str
    line_id: str
    sku: str
    quantity: int
    batches: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "line_id": self.line_id,
            "sku": self.sku,
            "quantity": self.quantity,
            "batches": dict(self.batches),
        }


@dataclass(frozen=True)
class LocationReason:
    location: str
    code: str
    detail: str

    @property
    def used(self) -> bool:
        return self.code == USED

    def as_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "used": self.used,
            "code": self.code,
            "detail": self.detail,
        }


def reasons_as_dict(reasons: Iterable[LocationReason]) -> dict[str, Any]:
    """The reasons as recorded: one entry per location the decision looked at, and the
    locations it never reached (all for one reason) listed once, under `not_reached`."""
    looked_at, not_reached = [], []
    for reason in reasons:
        if reason.detail == NOT_REACHED:
            not_reached.append(reason)
        else:
            looked_at.append(reason.as_dict())
    if not not_reached:
        return {"reasons": looked_at}
    return {
        "reasons": looked_at,
        "not_reached": {
            "code": not_reached[0].code,
            "detail": NOT_REACHED,
            "locations": [r.location for r in not_reached],
        },
    }


@dataclass(frozen=True)
class SourcingDecision:
    strategy: str
    method: str  # ship or pickup
    allocations: tuple[Allocation, ...]
    reasons: tuple[LocationReason, ...]

    def shipments(self) -> dict[str, list[Allocation]]:
        """The allocations per location, in the order the locations were chosen."""
        found: dict[str, list[Allocation]] = {}
        for allocation in self.allocations:
            found.setdefault(allocation.location, []).append(allocation)
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "sourced": True,
            "strategy": self.strategy,
            "method": self.method,
            "allocations": [a.as_dict() for a in self.allocations],
            **reasons_as_dict(self.reasons),
        }


@dataclass(frozen=True)
class SourcingRefusal:
    strategy: str
    unserved: tuple[tuple[str, str, int], ...]  # (line id, SKU, units) no location could take
    reasons: tuple[LocationReason, ...]

    @property
    def message(self) -> str:
        short = ", ".join(
            f"{units} unit(s) of {sku} (line {line})" for line, sku, units in self.unserved
        )
        return (
            f"no location can serve the order under the channel's rules ({self.strategy}): "
            f"{short} left unserved; see the reasons per location"
        )

    def error(self) -> CannotSourceError:
        return CannotSourceError(
            self.message,
            unserved=[
                {"line_id": line, "sku": sku, "units": units} for line, sku, units in self.unserved
            ],
            reasons=[r.as_dict() for r in self.reasons],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "sourced": False,
            "strategy": self.strategy,
            "message": self.message,
            **reasons_as_dict(self.reasons),
        }


# --- the decision -------------------------------------------------------------------------


def source(
    lines: Sequence[LineToSource],
    delivery: Delivery,
    policy: SourcingPolicy,
    candidates: Mapping[tuple[str, str], Sequence[SellableBatch]],
    places: Mapping[str, Place],
    today: date,
) -> SourcingDecision | SourcingRefusal:
    """Choose the locations (and batches) that serve every line, or say why none can."""
    _require_valid(lines, delivery, places)
    earliest = policy.earliest_expiry(today)
    skus = sorted({sku for line in lines for sku, _ in line.parts()})
    reasons: dict[str, LocationReason] = {}
    eligible = []
    for code in sorted(places):
        exclusion = _exclusion(places[code], delivery, policy)
        if exclusion is None:
            eligible.append(code)
        else:
            reasons[code] = exclusion
    counted: dict[str, dict[str, StockCount]] = {}

    def usable_at(code: str) -> dict[str, int] | None:
        """The units the channel may take at `code`, None where it may take none; counted
        only when the walk reaches the location."""
        counts = counted.get(code)
        if counts is None:
            counts = counted[code] = {
                sku: count_stock(
                    candidates.get((sku, code), ()), policy.withheld(sku, code), earliest
                )
                for sku in skus
            }
        if not any(count.usable for count in counts.values()):
            return None
        return {sku: count.usable for sku, count in counts.items()}

    ranked = _ranked(eligible, delivery, policy, places)
    if policy.strategy == FEWEST_SHIPMENTS:  # compares every location: all are counted
        ranked = [code for code in ranked if usable_at(code) is not None]
    taken, unserved = _plan(lines, ranked, usable_at, policy)
    need: dict[str, int] = {}
    for line in lines:
        for sku, per in line.parts():
            need[sku] = need.get(sku, 0) + line.quantity * per
    for code in eligible:
        if code in taken:
            continue
        if code not in counted:  # the walk stopped before it: the order was served
            reasons[code] = LocationReason(code, NOT_NEEDED[policy.strategy], NOT_REACHED)
            continue
        units = usable_at(code)
        if units is None:
            reasons[code] = _stock_reason(code, counted[code])
            continue
        whole = all(units[sku] >= n for sku, n in need.items())
        reasons[code] = _unused_reason(code, units, policy, whole, bool(unserved))
    code_taken = PARTIAL_STOCK if unserved else USED
    for code, units_taken in taken.items():
        reasons[code] = LocationReason(code, code_taken, _taken_detail(units_taken))
    final = tuple(reasons[code] for code in sorted(places))
    if unserved:
        return SourcingRefusal(policy.strategy, tuple(unserved), final)
    allocations = _batches(taken, candidates, earliest)
    method = PICKUP if isinstance(delivery, PickUpAt) else SHIP
    return SourcingDecision(policy.strategy, method, allocations, final)


Taken = dict[str, dict[tuple[str, str], int]]  # location -> (line id, SKU) -> units


Usable = Callable[[str], dict[str, int] | None]  # a location's usable units; None: none


class _Left(dict[str, dict[str, int]]):
    """The units still free per location with stock, in ranked order, each location counted
    when the walk first reaches it."""

    def __init__(self, ranked: list[str], usable_at: Usable) -> None:
        super().__init__()
        self.ranked, self.usable_at = ranked, usable_at

    def walk(self) -> Iterator[str]:
        for code in self.ranked:
            if code not in self:
                units = self.usable_at(code)
                if units is None:
                    continue
                self[code] = units
            yield code


def _plan(
    lines: Sequence[LineToSource],
    ranked: list[str],
    usable_at: Usable,
    policy: SourcingPolicy,
) -> tuple[Taken, list[tuple[str, str, int]]]:
    """Units per location, and what no location could take (empty when all is served)."""
    left = _Left(ranked, usable_at)
    taken: Taken = {}
    needs = _needs(lines)
    if not policy.split_allowed:
        for code in left.walk():
            trial = {code: dict(left[code])}
            trial_taken: Taken = {}
            if not _take_at(code, needs, trial, trial_taken, dry=True):
                return trial_taken, []
        return {}, [(n.line_id, sku, n.count * per) for n in needs for sku, per in n.parts]
    needs = _serve(needs, left, taken, policy)
    # Kits no single location could serve whole: their components, each where it can be found.
    loose = [_Need(n.line_id, ((sku, 1),), n.count * per) for n in needs for sku, per in n.parts]
    loose = _serve(loose, left, taken, policy)
    return taken, [(n.line_id, n.parts[0][0], n.count) for n in loose]


@dataclass
class _Need:
    line_id: str
    parts: tuple[tuple[str, int], ...]
    count: int  # whole sets (kits, or units of a plain line) still to source


def _needs(lines: Sequence[LineToSource]) -> list[_Need]:
    return [_Need(line.line_id, line.parts(), line.quantity) for line in lines]


def _serve(
    needs: list[_Need],
    left: _Left,
    taken: Taken,
    policy: SourcingPolicy,
) -> list[_Need]:
    needs = [_Need(n.line_id, n.parts, n.count) for n in needs if n.count]
    if policy.strategy == FEWEST_SHIPMENTS:
        pending = list(left.walk())
        while needs and pending:
            served = {code: _servable(needs, left[code]) for code in pending}
            best = max(pending, key=lambda code: (served[code], -pending.index(code)))
            if served[best] == 0:
                break
            pending.remove(best)
            _take_at(best, needs, left, taken)
            needs = [n for n in needs if n.count]
        return needs
    if not needs:
        return needs
    for code in left.walk():  # stops at the location that serves the last need
        _take_at(code, needs, left, taken)
        needs = [n for n in needs if n.count]
        if not needs:
            break
    return needs


def _servable(needs: list[_Need], units: dict[str, int]) -> int:
    """How many units a location could take of the needs (without taking them)."""
    trial = dict(units)
    total = 0
    for need in needs:
        sets = min(need.count, *(trial.get(sku, 0) // per for sku, per in need.parts))
        for sku, per in need.parts:
            trial[sku] -= sets * per
            total += sets * per
    return total


def _take_at(
    code: str,
    needs: list[_Need],
    left: dict[str, dict[str, int]],
    taken: Taken,
    *,
    dry: bool = False,
) -> int:
    """Take whole sets of every need at one location; returns the units still missing there.

    A dry run takes from a copy of the needs (used to test one location for everything)."""
    units = left[code]
    missing = 0
    for need in needs:
        sets = min(need.count, *(units.get(sku, 0) // per for sku, per in need.parts))
        missing += (need.count - sets) * sum(per for _, per in need.parts)
        if sets == 0:
            continue
        here = taken.setdefault(code, {})
        for sku, per in need.parts:
            units[sku] -= sets * per
            here[need.line_id, sku] = here.get((need.line_id, sku), 0) + sets * per
        if not dry:
            need.count -= sets
    return missing


def _batches(
    taken: Taken,
    candidates: Mapping[tuple[str, str], Sequence[SellableBatch]],
    earliest: date,
) -> tuple[Allocation, ...]:
    """First-expired-first-out batches for every unit taken, above the minimum shelf life."""
    allocations = []
    for code, units in taken.items():
        free: dict[str, list[list[Any]]] = {}
        for (line_id, sku), quantity in units.items():
            queue = free.setdefault(
                sku,
                [
                    [b.number, b.free]
                    for b in sorted(
                        candidates.get((sku, code), ()), key=lambda b: (b.expiry, b.number)
                    )
                    if b.expiry >= earliest and b.free > 0
                ],
            )
            chosen: list[tuple[str, int]] = []
            remaining = quantity
            for slot in queue:
                if remaining == 0:
                    break
                take = min(slot[1], remaining)
                if take:
                    chosen.append((slot[0], take))
                    slot[1] -= take
                    remaining -= take
            allocations.append(Allocation(code, line_id, sku, quantity, tuple(chosen)))
    return tuple(allocations)


# --- ranking and reasons ------------------------------------------------------------------


def _ranked(
    usable: Iterable[str],
    delivery: Delivery,
    policy: SourcingPolicy,
    places: Mapping[str, Place],
) -> list[str]:
    position = {code: i for i, code in enumerate(policy.priority)}
    last = len(position)
    if policy.strategy == PRIORITY:
        return sorted(usable, key=lambda code: (position.get(code, last), code))
    if isinstance(delivery, PickUpAt):
        return sorted(usable)

    def distance(code: str) -> float:
        place = places[code]
        return distance_km(delivery.latitude, delivery.longitude, place.latitude, place.longitude)

    return sorted(usable, key=lambda code: (distance(code), code))


def _exclusion(place: Place, delivery: Delivery, policy: SourcingPolicy) -> LocationReason | None:
    code = place.code
    if isinstance(delivery, PickUpAt) and code != delivery.store:
        return LocationReason(
            code, NOT_THE_PICKUP_STORE, f"the customer collects at {delivery.store}"
        )
    if not policy.may_sell_from(code):
        return LocationReason(
            code, NOT_ALLOWED_FOR_CHANNEL, f"channel {policy.channel} may not sell from {code}"
        )
    if isinstance(delivery, ShipTo) and place.kind == STORE and not policy.ship_from_store:
        return LocationReason(
            code,
            SHIP_FROM_STORE_OFF,
            f"{code} is a store and {policy.channel} does not ship from stores",
        )
    return None


def _stock_reason(code: str, counts: Mapping[str, StockCount]) -> LocationReason:
    detail = "; ".join(count.explain(sku) for sku, count in counts.items())
    if any(c.long_dated > 0 for c in counts.values()):
        return LocationReason(code, NOT_ENOUGH_AFTER_BUFFER, detail)
    if any(c.free > 0 for c in counts.values()):
        return LocationReason(code, SHELF_LIFE_TOO_SHORT, detail)
    return LocationReason(code, NO_STOCK, detail)


def _unused_reason(
    code: str, units: Mapping[str, int], policy: SourcingPolicy, whole: bool, refused: bool
) -> LocationReason:
    detail = ", ".join(f"{sku}: {n} usable" for sku, n in units.items())
    if whole and not refused:
        return LocationReason(
            code, NOT_NEEDED[policy.strategy], f"{detail}; a location ranked before it served"
        )
    if not policy.split_allowed:
        return LocationReason(
            code, CANNOT_SERVE_EVERY_LINE, f"{detail}; the channel ships an order whole"
        )
    if refused:
        return LocationReason(code, CANNOT_SERVE_EVERY_LINE, detail)
    return LocationReason(
        code, NOT_NEEDED[policy.strategy], f"{detail}; locations ranked before it served"
    )


def _taken_detail(units: Mapping[tuple[str, str], int]) -> str:
    return "takes " + ", ".join(f"{n} x {sku} (line {line})" for (line, sku), n in units.items())


def require_kit_part(kit: str, component: str, per_kit: int) -> None:
    if per_kit <= 0:
        raise InvalidCommandError(
            f"kit {kit} needs a positive whole number of {component}, got {per_kit}"
        )


def _require_valid(
    lines: Sequence[LineToSource], delivery: Delivery, places: Mapping[str, Place]
) -> None:
    if not lines:
        raise InvalidCommandError("an order needs at least one line to source")
    seen: set[str] = set()
    for line in lines:
        if line.line_id in seen:
            raise InvalidCommandError(
                f"line id {line.line_id!r} appears twice: expected unique ids"
            )
        seen.add(line.line_id)
        if line.quantity <= 0:
            raise InvalidCommandError(
                f"quantity must be a positive whole number, got {line.quantity} for {line.sku}"
            )
        for sku, per in line.parts():
            require_kit_part(line.sku, sku, per)
    if isinstance(delivery, PickUpAt):
        store = places.get(delivery.store)
        if store is None:
            raise UnknownLocationError(
                f"no location {delivery.store!r} is registered to collect from",
                location=delivery.store,
            )
        if store.kind != STORE:
            raise InvalidCommandError(
                f"pickup at {delivery.store} is not possible: it is a {store.kind}, "
                "expected a store",
                location=delivery.store,
            )
    elif not (
        math.isfinite(delivery.latitude)
        and math.isfinite(delivery.longitude)
        and -90 <= delivery.latitude <= 90
        and -180 <= delivery.longitude <= 180
    ):
        raise InvalidCommandError(
            f"delivery coordinates ({delivery.latitude}, {delivery.longitude}) are not a place: "
            "expected a latitude from -90 to 90 and a longitude from -180 to 180"
        )
