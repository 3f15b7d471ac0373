import pytest
from shop import counts, line, open_shop, receive, reserve, stock

from domain.errors import InsufficientStockError


def test_a_refused_command_changes_nothing_and_emits_nothing():
    uow = open_shop()
    uow.run(receive(quantity=1))
    stored = dict(uow.aggregates)
    events_before = len(uow.all_events())
    with pytest.raises(InsufficientStockError):
        uow.run(reserve(line(1), line(1, sku="LIP-NUDE")))
    assert uow.aggregates == stored
    assert len(uow.all_events()) == events_before
    assert uow.last_events == []
    assert counts(uow) == {"B1": (1, 0)}


def test_a_refused_command_leaves_the_stored_aggregates_untouched_even_half_way():
    uow = open_shop()
    uow.run(receive(quantity=5))
    red = stock(uow)
    version = red.version
    with pytest.raises(InsufficientStockError):
        uow.run(reserve(line(2), line(1, sku="LIP-NUDE")))  # red is reserved before nude fails
    assert stock(uow) is red
    assert (red.version, red.holds) == (version, {})
