"""Planning's invariants (hypothesis) and its decisions in business words: never order or move
more than sells before expiry; prefer a transfer from a slow store to a purchase; alerts for
stock running out within the lead time and for batches that will not sell in time."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from replenishment_shop import TERMS, forecast

from domain.replenishment import EXPIRY_RISK, LOW_STOCK, PURCHASE, TRANSFER, PolicyTerms
from domain.replenishment_planning import (
    EPSILON,
    DailyDemand,
    Lot,
    Position,
    Series,
    levels,
    plan,
    sell_through,
)

TODAY = date(2025, 3, 1)
SKU = "LIP-RED"


def lot(name: str, expiry_in: int, units: float, arrives_in: int = 0, source: str = "on_hand"):
    return Lot(
        name,
        TODAY + timedelta(days=expiry_in),
        units,
        TODAY + timedelta(days=arrives_in),
        source,
    )


def position(location: str, *lots: Lot, incoming: tuple[Lot, ...] = (), shelf: int = 120):
    return Position(SKU, location, TODAY, lots, 0, incoming, shelf)


lots_st = st.lists(st.tuples(st.integers(1, 200), st.integers(0, 60)), max_size=4).map(
    lambda found: tuple(lot(f"B{i}", e, float(u)) for i, (e, u) in enumerate(found))
)
incoming_st = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 40)), max_size=2).map(
    lambda found: tuple(
        lot(f"PO{i}", a + 90, float(u), arrives_in=a, source="shipment")
        for i, (a, u) in enumerate(found)
    )
)
terms_st = st.builds(
    PolicyTerms,
    service_level=st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]),
    lead_time_days=st.integers(0, 21),
    review_period_days=st.integers(1, 14),
    order_multiple=st.integers(1, 12),
    minimum_order=st.integers(0, 30),
    max_units=st.none() | st.integers(0, 200),
)
series_st = st.builds(
    lambda where, lots, incoming, terms, means, rmse, shelf: Series(
        position(where, *lots, incoming=incoming, shelf=shelf),
        forecast(means, sku=SKU, location=where, start=TODAY, rmse=rmse),
        terms,
    ),
    st.just("S"),
    lots_st,
    incoming_st,
    terms_st,
    st.lists(st.floats(0, 12, allow_nan=False), min_size=7, max_size=60),
    st.floats(0, 4, allow_nan=False),
    st.integers(3, 40) | st.integers(41, 400),
)


@st.composite
def shops(draw: st.DrawFn) -> list[Series]:
    count = draw(st.integers(1, 3))
    found = []
    for n in range(count):
        one = draw(series_st)
        where = f"S{n}"
        found.append(
            Series(
                Position(SKU, where, TODAY, *_rest(one.position)),
                forecast([d.mean for d in one.forecast.days], location=where, rmse=1.0),
                one.terms,
            )
        )
    return found


def _rest(p: Position) -> tuple[tuple[Lot, ...], int, tuple[Lot, ...], int]:
    return p.on_hand, p.reserved, p.incoming, p.shelf_life_days


@settings(max_examples=150, deadline=None)
@given(shops())
def test_no_suggestion_brings_more_than_sells_before_it_expires(shop: list[Series]) -> None:
    """Re-simulate each location with everything suggested to it: every unit bought or moved
    there sells before its expiry at the forecast rate."""
    found = plan(shop, TODAY)
    for s in shop:
        where = s.position.location
        mine = [d for d in found.suggestions if d.location == where]
        added = []
        for d in mine:
            if d.kind == PURCHASE:
                expiry = d.arrive_by + timedelta(days=s.position.shelf_life_days)
                added.append(Lot(f"new:{d.sku}", expiry, float(d.quantity), d.arrive_by, "new"))
                assert d.quantity % s.terms.order_multiple == 0
                assert d.quantity >= max(1, s.terms.minimum_order)
            else:
                for batch, units in d.inputs["batches"].items():
                    donor = next(x for x in shop if x.position.location == d.from_location)
                    known = next(b for b in donor.position.on_hand if b.name == batch)
                    added.append(Lot(batch, known.expiry, float(units), d.arrive_by, "moved"))
        outcome = sell_through([*s.position.lots(), *added], DailyDemand(s.forecast), TODAY)
        for o in outcome.lots:
            if o.lot.source in ("new", "moved"):
                assert o.unsold <= EPSILON, (o, mine)
    for d in found.suggestions:
        if d.kind == TRANSFER:
            assert d.from_location != d.location and d.quantity >= 1
        receiver = next(x for x in shop if x.position.location == d.location)
        before = sell_through(receiver.position.lots(), DailyDemand(receiver.forecast), TODAY)
        assert before.sold() <= levels(receiver.forecast, receiver.terms, TODAY).reorder_point


@settings(max_examples=150, deadline=None)
@given(series_st)
def test_the_simulation_sells_no_more_than_each_lot_holds_nor_after_its_expiry(s: Series) -> None:
    demand = DailyDemand(s.forecast)
    outcome = sell_through(s.position.lots(), demand, TODAY)
    for o in outcome.lots:
        assert -EPSILON <= o.sold <= o.lot.units + EPSILON
        assert abs(o.sold + o.unsold - o.lot.units) <= 1e-3
        if o.sold_out_on is not None:
            assert o.lot.arrives <= o.sold_out_on < o.lot.expiry
    last = max((o.lot.expiry for o in outcome.lots), default=TODAY)
    assert outcome.sold() <= demand.between(TODAY, last) + 1e-3


def test_a_purchase_is_rounded_up_to_the_multiple_and_explains_itself() -> None:
    terms = PolicyTerms(0.95, 7, 7, order_multiple=6)
    s = Series(position("S", lot("B1", 300, 3)), forecast(2.0, location="S", days=60), terms)
    (bought,) = plan([s], TODAY).suggestions
    assert bought.kind == PURCHASE and bought.quantity == 30  # 28 needed: up to 30
    assert bought.arrive_by == TODAY + timedelta(days=7)
    assert "against a reorder point of 14 (lead time 7 d, 95% service)" in bought.reasons[0]
    assert any("multiple of 6" in reason for reason in bought.reasons)


def test_a_short_shelf_life_caps_the_purchase() -> None:
    """Ten days of shelf life at 2 a day: no more than 20 units, whatever the policy asks."""
    terms = PolicyTerms(0.95, 7, 30)
    s = Series(position("S", shelf=10), forecast(2.0, location="S", days=60), terms)
    (bought,) = plan([s], TODAY).suggestions
    assert bought.quantity == 20
    assert "capped at 20" in bought.reasons[-1] and "shelf life 10 d" in bought.reasons[-1]


def test_a_slow_store_sends_its_spare_units_to_a_fast_one_instead_of_a_purchase() -> None:
    slow = Series(
        position("SLOW", lot("B1", 60, 40)), forecast(0.2, location="SLOW", days=60), TERMS
    )
    fast = Series(position("FAST"), forecast(1.0, location="FAST", days=60), TERMS)
    found = plan([slow, fast], TODAY)
    (moved,) = found.suggestions
    assert (moved.kind, moved.from_location, moved.location) == (TRANSFER, "SLOW", "FAST")
    assert moved.quantity == 14  # FAST's order-up-to over 14 days at 1 a day
    assert moved.inputs["batches"] == {"B1": 14}
    assert moved.reasons[0] == (
        "FAST has 0 units usable against a reorder point of 7 (lead time 7 d, 95% service)"
    )
    assert "SLOW holds 40 units free" in moved.reasons[1]


def test_a_transfer_never_sends_what_would_expire_at_the_receiver() -> None:
    """The spare batch expires in 5 days: the fast store sells 5 of it, and buys the rest."""
    slow = Series(position("SLOW", lot("B1", 5, 40)), forecast(0.2, location="SLOW"), TERMS)
    fast = Series(position("FAST"), forecast(1.0, location="FAST", days=60), TERMS)
    found = plan([slow, fast], TODAY)
    moved = next(d for d in found.suggestions if d.kind == TRANSFER)
    assert moved.quantity == 4  # arriving tomorrow, sellable for 4 days before expiry
    bought = next(d for d in found.suggestions if d.kind == PURCHASE)
    assert bought.location == "FAST" and bought.quantity == 10


def test_low_stock_and_expiry_risk_alerts() -> None:
    s = Series(
        position("S", lot("OLD", 10, 30), lot("NEW", 200, 2)),
        forecast(1.0, location="S", days=60),
        PolicyTerms(0.95, 14, 7),
    )
    alerts = plan([s], TODAY).alerts
    risk = next(a for a in alerts if a["kind"] == EXPIRY_RISK)
    assert (risk["batch"], risk["units_at_risk"]) == ("OLD", 20)
    assert risk["expiry"] == (TODAY + timedelta(days=10)).isoformat()
    low = next(a for a in alerts if a["kind"] == LOW_STOCK)
    assert low["runs_out_on"] == (TODAY + timedelta(days=12)).isoformat()
    assert "within the lead time of 14 d" in low["reason"]


def test_enough_stock_suggests_nothing() -> None:
    s = Series(position("S", lot("B1", 300, 80)), forecast(1.0, location="S", days=60), TERMS)
    assert plan([s], TODAY).suggestions == ()


def test_stock_that_expires_before_the_lead_time_is_low_stock_even_with_nothing_after_it() -> None:
    s = Series(position("S", lot("F1", 5, 12)), forecast(1.0, location="S", days=60), TERMS)
    (low,) = [a for a in plan([s], TODAY).alerts if a["kind"] == LOW_STOCK]
    assert low["runs_out_on"] == (TODAY + timedelta(days=5)).isoformat()


def test_two_stores_offering_alike_batches_send_only_what_the_receiver_sells_in_time() -> None:
    """Both idle stores hold 3 units of a batch B1 expiring in 4 days; the busy store sells 3
    units before then (from tomorrow), so only one of them sends."""
    idle = [
        Series(position(where, lot("B1", 4, 3)), forecast(0.0, location=where), TERMS)
        for where in ("IDLE-A", "IDLE-B")
    ]
    busy = Series(position("BUSY"), forecast(1.0, location="BUSY", days=60), TERMS)
    moved = [d for d in plan([*idle, busy], TODAY).suggestions if d.kind == TRANSFER]
    assert [(d.from_location, d.quantity) for d in moved] == [("IDLE-A", 3)]
