"""Replenishment's commands in the domain: policies, plans superseding plans, acceptance
creating the expected shipment or the transfer in transit, once."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from replenishment_shop import TERMS, purchase, record, transfer
from shop import RED, STORE, WAREHOUSE, open_shop, receive, trace

from domain.errors import (
    InsufficientStockError,
    InvalidCommandError,
    NotPermittedError,
    SuggestionClosedError,
    UnknownLocationError,
    UnknownSuggestionError,
)
from domain.ids import stock_id
from domain.replenishment import (
    ACCEPTED,
    SUPERSEDED,
    PolicyTerms,
    ReplenishmentBook,
    ReplenishmentPolicy,
    Suggestion,
    book_id,
    policy_id,
)
from domain.replenishment_commands import AcceptSuggestion, SetReplenishmentPolicy
from domain.stock import Stock


def test_a_policy_is_set_once_per_change_and_refused_when_incoherent() -> None:
    uow = open_shop()
    first = uow.run(SetReplenishmentPolicy(RED, STORE, TERMS, trace()))
    assert first.created and first.body["terms"]["lead_time_days"] == 7
    uow.run(SetReplenishmentPolicy(RED, STORE, TERMS, trace()))
    assert uow.last_events == []  # the same terms again record nothing
    policy = uow.aggregates.get(policy_id(RED, STORE))
    assert isinstance(policy, ReplenishmentPolicy) and policy.terms == TERMS
    with pytest.raises(InvalidCommandError, match=r"min_units \(9\) at most max_units \(3\)"):
        PolicyTerms(0.95, 7, 7, min_units=9, max_units=3)
    with pytest.raises(InvalidCommandError, match=r"service level in \[0.5, 1\), got 1.2"):
        PolicyTerms(1.2, 7, 7)
    with pytest.raises(UnknownLocationError):
        uow.run(SetReplenishmentPolicy(RED, "NOWHERE", TERMS, trace()))


def test_a_new_run_supersedes_the_open_suggestions_and_a_superseded_one_is_refused() -> None:
    uow = open_shop()
    old = UUID(uow.run(record("run-a", purchase())).body["made"][0])
    answer = uow.run(record("run-b", purchase(6))).body
    assert answer["superseded"] == [str(old)]
    book = uow.aggregates.get(book_id(STORE))
    assert isinstance(book, ReplenishmentBook)
    assert book.open_ids() == [UUID(answer["made"][0])]
    suggestion = uow.aggregates.get(old)
    assert isinstance(suggestion, Suggestion) and suggestion.status == SUPERSEDED
    with pytest.raises(SuggestionClosedError, match="superseded by run run-b"):
        uow.run(AcceptSuggestion(old, trace()))
    again = uow.run(record("run-b", purchase(6)))  # the same run twice: nothing new
    assert uow.last_events == [] and again.body["open"] == answer["made"]


def test_accepting_a_purchase_expects_its_shipment_once() -> None:
    uow = open_shop()
    made = UUID(uow.run(record("run-a", purchase(12))).body["made"][0])
    first = uow.run(AcceptSuggestion(made, trace()))
    second = uow.run(AcceptSuggestion(made, trace()))
    assert uow.last_events == []
    assert first.body == second.body and first.body["status"] == ACCEPTED
    stock = uow.aggregates.get(stock_id(RED, STORE))
    assert isinstance(stock, Stock)
    assert stock.incoming == {first.body["shipment_ref"]: 12}
    book = uow.aggregates.get(book_id(STORE))
    assert isinstance(book, ReplenishmentBook) and book.open_ids() == []


def test_accepting_a_transfer_puts_the_units_in_transit() -> None:
    uow = open_shop()
    uow.run(receive(RED, "W1", quantity=10, where=WAREHOUSE))
    made = UUID(uow.run(record("run-a", transfer(4))).body["made"][0])
    with pytest.raises(NotPermittedError, match="staff of ST9"):
        uow.run(AcceptSuggestion(made, trace(), staff_of="ST9"))
    answer = uow.run(AcceptSuggestion(made, trace(), staff_of=WAREHOUSE)).body
    assert answer["transfer_id"] == str(made)
    target = uow.aggregates.get(stock_id(RED, STORE))
    source = uow.aggregates.get(stock_id(RED, WAREHOUSE))
    assert isinstance(target, Stock) and isinstance(source, Stock)
    assert target.units_in_transit() == 4 and source.batches["W1"].on_hand == 6


def test_a_transfer_the_source_can_no_longer_make_is_refused_and_stays_open() -> None:
    uow = open_shop()
    uow.run(receive(RED, "W1", quantity=2, where=WAREHOUSE))
    made = UUID(uow.run(record("run-a", transfer(4))).body["made"][0])
    with pytest.raises(InsufficientStockError):
        uow.run(AcceptSuggestion(made, trace()))
    suggestion = uow.aggregates.get(made)
    assert isinstance(suggestion, Suggestion) and suggestion.status == "open"


def test_an_unknown_suggestion_is_not_found() -> None:
    with pytest.raises(UnknownSuggestionError, match="no replenishment suggestion"):
        open_shop().run(AcceptSuggestion(uuid4(), trace()))
