"""What a refusal for lack of stock records as unmet demand (domain/unmet_demand.py), for
refusals the domain really makes: reservations and sales on random stock through the handlers,
orders through sourcing. Every record is short by asked - available >= 1, there is one per SKU
short, and a retry under the same key gives the same ids."""

from datetime import timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st
from shop import NOW, NUDE, RED, WAREHOUSE, line, open_shop, receive, trace

from domain import commands as c
from domain import order_commands as o
from domain.errors import DomainError, InsufficientStockError, InvalidCommandError
from domain.sourcing import (
    LineToSource,
    PickUpAt,
    Place,
    SellableBatch,
    ShipTo,
    SourcingPolicy,
    SourcingRefusal,
    source,
)
from domain.unmet_demand import CANNOT_SOURCE, INSUFFICIENT_STOCK, UnmetDemand, unmet_demand

TODAY = NOW.date()
LATER = TODAY + timedelta(days=300)
PLACES = {
    "WH-A": Place("WH-A", "warehouse", 48.85, 2.35),
    "WH-B": Place("WH-B", "warehouse", 45.76, 4.83),
    "ST-A": Place("ST-A", "store", 48.86, 2.34),
}
SKUS = ("LIP", "SERUM", "BALM")

stocked = st.dictionaries(st.sampled_from([RED, NUDE]), st.integers(1, 6), max_size=2)
stock_lines = st.lists(
    st.tuples(st.sampled_from([RED, NUDE]), st.integers(1, 9)), min_size=1, max_size=3
)
keys = st.none() | st.text(min_size=1, max_size=20)


@given(stocked, stock_lines, st.sampled_from(["reserve", "sell"]), keys)
def test_a_reservation_or_sale_refused_for_stock_records_the_sku_it_was_short_of(
    units: dict[str, int], lines: list[tuple[str, int]], kind: str, key: str | None
) -> None:
    uow = open_shop()
    for sku, quantity in units.items():
        uow.run(receive(sku=sku, quantity=quantity))
    wanted = tuple(line(quantity, sku=sku) for sku, quantity in lines)
    at = trace(idempotency_key=key, customer_id=str(uuid4()))
    command: c.Command = (
        c.PlaceReservation(uuid4(), wanted, NOW + timedelta(minutes=30), at)
        if kind == "reserve"
        else c.SellDirect(uuid4(), wanted, at)
    )
    try:
        uow.run(command)
    except InsufficientStockError as error:
        (record,) = unmet_demand(command, error)
        asked: dict[str, int] = {}
        for sku, quantity in lines:  # lines of one SKU are drawn from its stock together
            asked[sku] = asked.get(sku, 0) + quantity
        assert (record.sku, record.location) == (error.details["sku"], WAREHOUSE)
        assert record.asked == asked[record.sku] == error.details["requested"]
        assert record.available == units.get(record.sku, 0) == error.details["available"]
        assert record.short == record.asked - record.available >= 1
        assert (record.reason, record.command) == (INSUFFICIENT_STOCK, type(command).__name__)
        assert record.trace.customer_id is None and record.trace.channel == at.channel
        again = unmet_demand(command, error)[0].demand_id
        assert (again == record.demand_id) == (key is not None)
        assert unmet_demand(command, error, "another key")[0].demand_id != record.demand_id
        event = UnmetDemand.record(record).collect_events()[0]
        assert (event.short, event.channel, event.originator_id) == (
            record.short, at.channel, record.demand_id,
        )  # fmt: skip
    else:
        assert all(sum(q for s, q in lines if s == sku) <= units.get(sku, 0) for sku, _ in lines)


shelves = st.dictionaries(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(sorted(PLACES))),
    st.integers(1, 6),
    max_size=6,
)
order_lines = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 12)), min_size=1, max_size=4)


@given(shelves, order_lines, st.booleans(), st.booleans(), st.sampled_from(["ship", "ST-A"]), keys)
def test_an_order_that_cannot_be_sourced_records_each_sku_short_once(
    stock: dict[tuple[str, str], int],
    lines: list[tuple[str, int]],
    split: bool,
    from_stores: bool,
    delivery_kind: str,
    key: str | None,
) -> None:
    delivery = ShipTo(48.85, 2.30) if delivery_kind == "ship" else PickUpAt(delivery_kind)
    policy = SourcingPolicy("web", split_allowed=split, ship_from_store=from_stores)
    candidates = {k: (SellableBatch(f"B-{k[0]}-{k[1]}", LATER, n),) for k, n in stock.items()}
    to_source = [LineToSource(f"L{n}", sku, quantity) for n, (sku, quantity) in enumerate(lines, 1)]
    decided = source(to_source, delivery, policy, candidates, PLACES, TODAY)
    command = o.PlaceOrder(
        uuid4(), tuple(o.OrderedItem(s, q) for s, q in lines), delivery, trace(idempotency_key=key)
    )
    if not isinstance(decided, SourcingRefusal):
        return
    error = decided.error()
    records = unmet_demand(command, error)
    unserved: dict[str, int] = {}
    for _, sku, units in decided.unserved:
        unserved[sku] = unserved.get(sku, 0) + units
    assert sorted(r.sku for r in records) == sorted(unserved)  # one per SKU short
    location = "" if delivery_kind == "ship" else delivery_kind
    for record in records:
        assert record.short == unserved[record.sku] == record.asked - record.available >= 1
        assert record.asked == sum(q for s, q in lines if s == record.sku)
        assert (record.location, record.reason) == (location, CANNOT_SOURCE)
    again = [r.demand_id for r in unmet_demand(command, error)]
    assert (again == [r.demand_id for r in records]) == (key is not None or not records)
    assert len({r.demand_id for r in records}) == len(records)


@given(st.sampled_from([InvalidCommandError("bad"), DomainError("other")]), keys)
def test_a_refusal_not_for_stock_and_a_non_demand_command_record_nothing(
    error: DomainError, key: str | None
) -> None:
    sale = c.SellDirect(uuid4(), (line(3),), trace(idempotency_key=key))
    assert unmet_demand(sale, error) == []
    short = InsufficientStockError("short", sku=RED, location=WAREHOUSE, requested=3, available=1)
    transfer = c.TransferStock(uuid4(), RED, WAREHOUSE, "ST1", 3, trace(idempotency_key=key))
    assert unmet_demand(transfer, short) == []  # the shop's own move, not a customer's demand
    assert len(unmet_demand(sale, short)) == 1  # the same refusal of a sale is demand
