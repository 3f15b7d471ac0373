"""Returns are taken against what was sold at the shelf, and the book survives snapshots."""

from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shop import RED, WAREHOUSE, confirm, line, open_shop, receive, reserve, stock, trace

from domain import commands as c
from domain.errors import InvalidCommandError, ReturnExceedsSaleError
from domain.ledger import InventoryLedger
from domain.returns import ReturnBook
from domain.stock import Stock


def _sell(quantity: int, customer: str | None = None) -> c.SellDirect:
    return c.SellDirect(
        uuid4(), (line(quantity),), trace(**({"customer_id": customer} if customer else {}))
    )


def _return(
    quantity: int, customer: str | None = None, back_office: bool = False, **extra: str
) -> c.AcceptReturn:
    traced = trace(**({"customer_id": customer} if customer else {}), **extra)
    return c.AcceptReturn(RED, WAREHOUSE, "B1", None, quantity, True, traced, back_office)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["sell", "return"]),
            st.integers(1, 5),
            st.sampled_from([None, "ANNA", "BEN"]),
        ),
        max_size=30,
    )
)
def test_returns_never_exceed_what_was_sold_and_not_yet_returned(steps: list) -> None:
    uow = open_shop()
    uow.run(receive(quantity=500))
    sold: dict[str | None, int] = {None: 0, "ANNA": 0, "BEN": 0}
    for kind, quantity, customer in steps:
        if kind == "sell":
            uow.run(_sell(quantity, customer))
            sold[None] += quantity
            if customer:
                sold[customer] += quantity
            continue
        left = min(sold[None], sold[customer]) if customer else sold[None]
        if quantity > left:
            with pytest.raises(ReturnExceedsSaleError):
                uow.run(_return(quantity, customer))
            continue
        uow.run(_return(quantity, customer))
        sold[None] -= quantity
        if customer:
            sold[customer] -= quantity
    assert stock(uow).returns.returnable("B1", None) == sold[None]


def test_an_unlinked_return_is_the_back_offices_and_needs_a_reason() -> None:
    uow = open_shop()
    uow.run(receive())
    with pytest.raises(ReturnExceedsSaleError, match="back office"):
        uow.run(_return(1))
    with pytest.raises(InvalidCommandError, match="reason code"):
        uow.run(_return(1, back_office=True))
    uow.run(_return(1, back_office=True, reason="found"))
    assert uow.event_types() == ["Stock.Returned"]


def test_the_return_book_survives_a_snapshot_and_an_old_snapshot_comes_back_empty() -> None:
    uow = open_shop()
    uow.run(receive(quantity=20))
    uow.run(_sell(3, "ANNA"))
    shelf = stock(uow)
    ledger = InventoryLedger(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"}
    )
    try:
        stored = ledger.mapper.to_stored_event(Stock.Snapshot.take(shelf))
        restored = ledger.mapper.to_domain_event(stored).mutate(None)
        assert isinstance(restored, Stock)
        assert restored.returns == shelf.returns == ReturnBook({"B1": 3}, {"ANNA/B1": 3})
        old = Stock.Snapshot.take(shelf)
        old.state.pop("returns")
        old.state.pop("class_version")
        upcast = old.mutate(None)
        assert isinstance(upcast, Stock) and upcast.returns == ReturnBook()
    finally:
        ledger.close()


def test_a_confirmed_reservation_is_returnable_by_the_customer_it_was_for() -> None:
    uow = open_shop()
    uow.run(receive())
    placed = reserve(line(2))
    for_anna = trace(customer_id="ANNA")
    uow.run(c.PlaceReservation(placed.reservation_id, placed.lines, placed.expires_at, for_anna))
    uow.run(confirm(placed.reservation_id))
    assert uow.last_events[-1].trace.customer_id == "ANNA"
    uow.run(_return(2, "ANNA"))
    with pytest.raises(ReturnExceedsSaleError, match="to that customer"):
        uow.run(_return(1, "BEN"))
