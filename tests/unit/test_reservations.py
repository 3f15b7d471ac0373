from datetime import timedelta

import pytest
from shop import (
    LATER,
    LATEST,
    NOW,
    NUDE,
    RED,
    SOON,
    STORE,
    YESTERDAY,
    confirm,
    counts,
    expire,
    line,
    open_shop,
    receive,
    release,
    reserve,
    stock,
)

from domain import commands as c
from domain.errors import (
    BatchNotSellableError,
    InsufficientStockError,
    ReservationClosedError,
    ReservationExpiredError,
    UnknownReservationError,
)
from domain.reservation import CONFIRMED, EXPIRED, RELEASED, Reservation
from domain.trace import Trace


def shop_with_two_batches():
    uow = open_shop()
    uow.run(receive(batch="LATE", expiry=LATEST, quantity=5))
    uow.run(receive(batch="EARLY", expiry=SOON, quantity=3))
    return uow


def test_reservation_takes_the_batch_that_expires_first():
    uow = shop_with_two_batches()
    uow.run(reserve(line(2)))
    assert counts(uow) == {"LATE": (5, 0), "EARLY": (3, 2)}
    assert uow.event_types() == ["Stock.Reserved", "Reservation.Placed"]


def test_reservation_spills_into_the_next_batch_when_the_first_runs_out():
    uow = shop_with_two_batches()
    uow.run(reserve(line(5)))
    assert counts(uow) == {"LATE": (5, 2), "EARLY": (3, 3)}
    assert uow.last_events[0].allocations == {"EARLY": 3, "LATE": 2}


@pytest.mark.parametrize("make_unsellable", ["expired", "quarantined", "recalled"])
def test_reservation_never_takes_an_expired_quarantined_or_recalled_batch(make_unsellable):
    uow = open_shop()
    uow.run(receive(batch="BAD", expiry=YESTERDAY if make_unsellable == "expired" else SOON))
    uow.run(receive(batch="GOOD", expiry=LATER, quantity=4))
    if make_unsellable == "quarantined":
        uow.run(c.QuarantineBatch(RED, "WH1", "BAD", Trace("test", "qa", NOW)))
    if make_unsellable == "recalled":
        uow.run(c.RecallBatch(RED, "BAD", Trace("test", "qa", NOW)))
    uow.run(reserve(line(4)))
    assert counts(uow)["BAD"] == (10, 0)
    assert counts(uow)["GOOD"] == (4, 4)


def test_reservation_beyond_sellable_stock_is_refused_with_requested_and_available():
    uow = shop_with_two_batches()
    uow.run(receive(batch="OLD", expiry=YESTERDAY, quantity=50))
    before = counts(uow)
    with pytest.raises(InsufficientStockError) as refused:
        uow.run(reserve(line(9)))
    assert refused.value.details["requested"] == 9
    assert refused.value.details["available"] == 8
    assert counts(uow) == before
    assert uow.last_events == []


def test_lines_for_the_same_item_are_summed_so_a_bundle_cannot_oversell_it():
    uow = open_shop()
    uow.run(receive(quantity=3))
    with pytest.raises(InsufficientStockError) as refused:
        uow.run(reserve(line(2), line(2)))
    assert refused.value.details["requested"] == 4
    assert refused.value.details["available"] == 3
    assert counts(uow) == {"B1": (3, 0)}


def test_a_multi_line_reservation_is_all_or_nothing():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(receive(sku=NUDE, quantity=1))
    command = reserve(line(2), line(2, sku=NUDE))
    with pytest.raises(InsufficientStockError):
        uow.run(command)
    assert counts(uow) == {"B1": (5, 0)}
    assert counts(uow, NUDE) == {"B1": (1, 0)}
    assert command.reservation_id not in uow.aggregates


def test_a_reservation_can_hold_stock_at_several_locations():
    uow = open_shop()
    uow.run(receive(quantity=5))
    uow.run(receive(quantity=5, where=STORE))
    command = reserve(line(1), line(2, where=STORE))
    uow.run(command)
    assert counts(uow) == {"B1": (5, 1)}
    assert counts(uow, where=STORE) == {"B1": (5, 2)}
    assert len(uow.get(command.reservation_id).lines) == 2


def test_confirming_sells_exactly_the_held_units():
    uow = shop_with_two_batches()
    command = reserve(line(4))
    uow.run(command)
    uow.run(confirm(command.reservation_id))
    assert counts(uow) == {"LATE": (4, 0), "EARLY": (0, 0)}
    assert uow.get(command.reservation_id).status == CONFIRMED
    assert uow.event_types() == ["Reservation.Confirmed", "Stock.Sold"]
    assert uow.last_events[1].allocations == {"EARLY": 3, "LATE": 1}
    assert stock(uow).holds == {}


def test_confirming_swaps_a_held_batch_that_was_quarantined_for_another_sellable_one():
    uow = shop_with_two_batches()
    command = reserve(line(2))
    uow.run(command)
    uow.run(c.QuarantineBatch(RED, "WH1", "EARLY", Trace("test", "qa", NOW)))
    uow.run(confirm(command.reservation_id))
    assert counts(uow) == {"LATE": (3, 0), "EARLY": (3, 0)}
    assert uow.last_events[1].allocations == {"LATE": 2}


def test_confirming_swaps_a_held_batch_that_expired_since_it_was_reserved():
    uow = shop_with_two_batches()
    command = reserve(line(2), expires_at=NOW + timedelta(days=200))
    uow.run(command)
    after_early_expiry = NOW + timedelta(days=100)
    uow.run(confirm(command.reservation_id, now=after_early_expiry))
    assert counts(uow) == {"LATE": (3, 0), "EARLY": (3, 0)}


def test_confirming_is_refused_when_no_sellable_batch_can_replace_a_quarantined_one():
    uow = open_shop()
    uow.run(receive(batch="EARLY", expiry=SOON, quantity=2))
    command = reserve(line(2))
    uow.run(command)
    uow.run(c.QuarantineBatch(RED, "WH1", "EARLY", Trace("test", "qa", NOW)))
    with pytest.raises(BatchNotSellableError) as refused:
        uow.run(confirm(command.reservation_id))
    assert refused.value.details["unsellable"] == 2
    assert counts(uow) == {"EARLY": (2, 2)}
    assert uow.get(command.reservation_id).status == "open"


def test_releasing_gives_the_held_units_back():
    uow = shop_with_two_batches()
    command = reserve(line(4))
    uow.run(command)
    uow.run(release(command.reservation_id))
    assert counts(uow) == {"LATE": (5, 0), "EARLY": (3, 0)}
    assert uow.get(command.reservation_id).status == RELEASED
    assert uow.event_types() == ["Reservation.Released", "Stock.ReservationReleased"]


def test_expiring_an_overdue_reservation_gives_the_held_units_back():
    uow = shop_with_two_batches()
    command = reserve(line(4))
    uow.run(command)
    uow.run(expire(command.reservation_id, now=command.expires_at))
    assert counts(uow) == {"LATE": (5, 0), "EARLY": (3, 0)}
    assert uow.get(command.reservation_id).status == EXPIRED
    assert uow.event_types() == ["Reservation.Expired", "Stock.ReservationExpired"]


def test_expiring_records_the_same_moment_on_the_reservation_and_on_the_stock():
    uow = shop_with_two_batches()
    command = reserve(line(1))
    uow.run(command)
    uow.run(expire(command.reservation_id, now=command.expires_at + timedelta(hours=1)))
    occurred = {event.trace.occurred_at for event in uow.last_events}
    assert occurred == {command.expires_at + timedelta(hours=1)}


def test_expiring_a_reservation_that_is_not_yet_overdue_changes_nothing():
    uow = shop_with_two_batches()
    command = reserve(line(4))
    uow.run(command)
    answer = uow.run(expire(command.reservation_id, now=command.expires_at - timedelta(seconds=1)))
    assert answer.body["status"] == "open"
    assert uow.last_events == []
    assert counts(uow) == {"LATE": (5, 1), "EARLY": (3, 3)}


def test_confirming_an_overdue_reservation_is_refused():
    uow = shop_with_two_batches()
    command = reserve(line(1))
    uow.run(command)
    with pytest.raises(ReservationExpiredError):
        uow.run(confirm(command.reservation_id, now=command.expires_at))
    assert counts(uow) == {"LATE": (5, 0), "EARLY": (3, 1)}


def test_confirming_twice_is_refused_as_closed():
    uow = shop_with_two_batches()
    command = reserve(line(1))
    uow.run(command)
    uow.run(confirm(command.reservation_id))
    with pytest.raises(ReservationClosedError) as refused:
        uow.run(confirm(command.reservation_id))
    assert refused.value.details["status"] == CONFIRMED
    assert uow.last_events == []


def test_releasing_twice_is_refused_as_closed():
    uow = shop_with_two_batches()
    command = reserve(line(1))
    uow.run(command)
    uow.run(release(command.reservation_id))
    with pytest.raises(ReservationClosedError):
        uow.run(release(command.reservation_id))


def test_confirming_an_expired_reservation_is_refused_as_expired():
    uow = shop_with_two_batches()
    command = reserve(line(1))
    uow.run(command)
    uow.run(expire(command.reservation_id, now=command.expires_at))
    with pytest.raises(ReservationExpiredError):
        uow.run(confirm(command.reservation_id, now=NOW))


def test_releasing_a_confirmed_reservation_is_refused():
    uow = shop_with_two_batches()
    command = reserve(line(1))
    uow.run(command)
    uow.run(confirm(command.reservation_id))
    with pytest.raises(ReservationClosedError):
        uow.run(release(command.reservation_id))
    assert counts(uow) == {"LATE": (5, 0), "EARLY": (2, 0)}


def test_reusing_a_reservation_id_is_refused():
    uow = shop_with_two_batches()
    command = reserve(line(1))
    uow.run(command)
    with pytest.raises(Exception, match="already exists"):
        uow.run(command)


@pytest.mark.parametrize("make", [confirm, release, lambda rid: expire(rid, NOW)])
def test_an_unknown_reservation_is_not_found(make):
    from uuid import uuid4

    uow = open_shop()
    with pytest.raises(UnknownReservationError):
        uow.run(make(uuid4()))


def test_a_placed_reservation_records_its_lines_and_expiry():
    uow = shop_with_two_batches()
    command = reserve(line(2))
    uow.run(command)
    reservation = uow.get(command.reservation_id)
    assert isinstance(reservation, Reservation)
    assert reservation.lines == [
        {"sku": RED, "location": "WH1", "quantity": 2, "allocations": {"EARLY": 2}}
    ]
    assert reservation.expires_at == command.expires_at


def test_a_reservation_line_naming_a_batch_holds_units_of_that_batch():
    uow = shop_with_two_batches()
    uow.run(reserve(line(2, batch="LATE")))
    assert counts(uow) == {"LATE": (5, 2), "EARLY": (3, 0)}
    assert uow.last_events[0].allocations == {"LATE": 2}


def test_a_reservation_line_naming_an_unsellable_batch_is_refused():
    uow = shop_with_two_batches()
    uow.run(c.QuarantineBatch(RED, "WH1", "LATE", Trace("test", "qa", NOW)))
    with pytest.raises(BatchNotSellableError):
        uow.run(reserve(line(1, batch="LATE")))
    assert counts(uow) == {"LATE": (5, 0), "EARLY": (3, 0)}


def test_named_batch_lines_are_served_before_first_expired_lines():
    uow = shop_with_two_batches()
    uow.run(reserve(line(1), line(3, batch="EARLY")))
    assert counts(uow) == {"LATE": (5, 1), "EARLY": (3, 3)}


def test_confirming_two_lines_on_the_same_shelf_sells_once_per_shelf():
    uow = shop_with_two_batches()
    command = reserve(line(1), line(1, batch="LATE"))
    uow.run(command)
    uow.run(confirm(command.reservation_id))
    assert counts(uow) == {"LATE": (4, 0), "EARLY": (2, 0)}
    assert uow.event_types() == ["Reservation.Confirmed", "Stock.Sold"]


def test_a_copy_of_a_reservation_changes_without_touching_the_original():
    import copy
    import uuid
    from datetime import UTC, datetime

    trace = Trace("web", "tester", datetime(2026, 11, 27, tzinfo=UTC))
    lines = [{"sku": "SERUM", "location": "WH", "quantity": 1}]
    original = Reservation.place(uuid.uuid4(), lines, trace.occurred_at + timedelta(hours=1), trace)
    original.collect_events()

    clone = copy.deepcopy(original)
    clone.confirm(trace)

    assert (clone.status, clone.version, len(clone.collect_events())) == (CONFIRMED, 2, 1)
    assert (original.status, original.version, original.collect_events()) == ("open", 1, [])
    assert clone.lines == original.lines
