"""Handlers of the replenishment commands (domain/replenishment_commands.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.commands import TransferStock
from domain.errors import InvalidCommandError, UnknownSuggestionError
from domain.loading import location_of, move_stock, sku_of, stock_or_open
from domain.replenishment import (
    ACCEPTED,
    PURCHASE,
    ReplenishmentBook,
    ReplenishmentPolicy,
    Suggestion,
    book_id,
    policy_id,
)
from domain.replenishment_commands import (
    AcceptSuggestion,
    RecordReplenishmentPlan,
    SetReplenishmentPolicy,
)
from domain.results import Result
from domain.unit_of_work import UnitOfWork, find_as


def set_policy(cmd: SetReplenishmentPolicy, uow: UnitOfWork) -> Result:
    sku_of(uow, cmd.sku)
    location_of(uow, cmd.location)
    policy = find_as(uow, policy_id(cmd.sku, cmd.location), ReplenishmentPolicy)
    created = policy is None
    if policy is None:
        policy = ReplenishmentPolicy.open(cmd.sku, cmd.location)
        uow.add(policy)
    policy.set(cmd.terms, cmd.trace)
    return Result(policy.as_dict(), created=created)


def record_plan(cmd: RecordReplenishmentPlan, uow: UnitOfWork) -> Result:
    location_of(uow, cmd.location)
    book = _book(uow, cmd.location)
    if book.last_run == cmd.run_id:  # the same run recorded again: nothing new
        return Result({"location": cmd.location, "run_id": cmd.run_id, "open": _open(book)})
    strays = [d for d in cmd.suggestions if d.location != cmd.location]
    if strays:
        raise InvalidCommandError(
            f"a plan for {cmd.location} carries suggestions for {strays[0].location}; "
            "record each location's suggestions in its own plan"
        )
    superseded = []
    for found in book.open_ids():
        suggestion = find_as(uow, found, Suggestion)
        if suggestion is not None:
            suggestion.supersede(cmd.run_id, cmd.trace)
            superseded.append(found)
    made = []
    for draft in cmd.suggestions:
        sku_of(uow, draft.sku)
        suggestion = Suggestion.make(draft, cmd.run_id, cmd.trace)
        uow.add(suggestion)
        made.append(suggestion.id)
    book.record_plan(cmd.run_id, made, superseded, list(cmd.alerts), cmd.trace)
    return Result(
        {
            "location": cmd.location,
            "run_id": cmd.run_id,
            "made": [str(s) for s in made],
            "superseded": [str(s) for s in superseded],
            "alerts": len(cmd.alerts),
        },
        created=bool(made),
    )


def accept_suggestion(cmd: AcceptSuggestion, uow: UnitOfWork) -> Result:
    suggestion = find_as(uow, cmd.suggestion_id, Suggestion)
    if suggestion is None:
        raise UnknownSuggestionError(
            f"no replenishment suggestion {cmd.suggestion_id}; list the open ones with "
            "GET /replenishment/suggestions?location=",
            suggestion_id=str(cmd.suggestion_id),
        )
    suggestion.require_acceptable(cmd.staff_of)
    if suggestion.status == ACCEPTED:  # accepted before: the same answer, nothing new
        return Result(suggestion.as_dict())
    trace = cmd.trace
    if suggestion.kind == PURCHASE:
        ref = f"replenish-{suggestion.id.hex[:16]}"
        stock = stock_or_open(uow, suggestion.sku, suggestion.location)
        stock.expect_shipment(ref, suggestion.quantity, suggestion.arrive_by, trace)
        suggestion.accept(ref, None, trace)
    else:
        assert suggestion.from_location is not None
        move = TransferStock(
            suggestion.id,
            suggestion.sku,
            suggestion.from_location,
            suggestion.location,
            suggestion.quantity,
            trace,
            in_transit=True,
        )
        move_stock(uow, move)
        suggestion.accept(None, suggestion.id, trace)
    _book(uow, suggestion.location).accepted(suggestion.id, trace)
    return Result(suggestion.as_dict())


def _book(uow: UnitOfWork, location: str) -> ReplenishmentBook:
    book = find_as(uow, book_id(location), ReplenishmentBook)
    if book is None:
        book = ReplenishmentBook.open_for(location)
        uow.add(book)
    return book


def _open(book: ReplenishmentBook) -> list[str]:
    return [str(s) for s in book.open_ids()]


REPLENISHMENT_HANDLERS: dict[type[Any], Callable[[Any, UnitOfWork], Result]] = {
    SetReplenishmentPolicy: set_policy,
    RecordReplenishmentPlan: record_plan,
    AcceptSuggestion: accept_suggestion,
}
