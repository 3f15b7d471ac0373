"""Handlers of the till commands. A journal line is recorded once, in its till's order: applied
(its sale reconciled by the store's policy: domain/till_reconciliation.py), or rejected with
the reason (an unknown SKU, a return no sale here covers), which touches no stock. Either way
the till's high-water mark moves on, so one bad line never blocks the lines after it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from domain.errors import (
    AlreadyExistsError,
    DomainError,
    ReturnExceedsSaleError,
    TillSequenceError,
    UnknownTillError,
)
from domain.ids import stock_id
from domain.loading import location_of, sku_of
from domain.results import Result
from domain.stock import Stock
from domain.till_commands import (
    RETURN,
    SALE,
    DeclareReconciliationPolicy,
    RecordTillLine,
    RecordTillLines,
    RegisterTill,
    TillItem,
)
from domain.till_reconciliation import TillLine, reconcile, record_shortage
from domain.tills import (
    DEFAULT_STEPS,
    LineBook,
    ReconciliationPolicy,
    Till,
    policy_id,
    till_id,
)
from domain.unit_of_work import UnitOfWork, find_as, view_as


def register_till(cmd: RegisterTill, uow: UnitOfWork) -> Result:
    location_of(uow, cmd.location)
    if not uow.is_new(till_id(cmd.till)):
        raise AlreadyExistsError(f"till {cmd.till!r} is already registered", till=cmd.till)
    uow.add(Till.register(cmd.till, cmd.location, cmd.trace))
    return Result({"till": cmd.till, "location": cmd.location, "next_seq": 1}, created=True)


def declare_policy(cmd: DeclareReconciliationPolicy, uow: UnitOfWork) -> Result:
    location_of(uow, cmd.location)
    policy = find_as(uow, policy_id(cmd.location), ReconciliationPolicy)
    if policy is None:
        policy = ReconciliationPolicy.declare(cmd.location, list(cmd.steps), cmd.trace)
        uow.add(policy)
    else:
        policy.change(list(cmd.steps), cmd.trace)
    return Result({"location": cmd.location, "steps": list(policy.steps)})


def record_till_lines(cmd: RecordTillLines, uow: UnitOfWork) -> Result:
    till = till_of(uow, cmd.till)
    book = LineBook(cmd.journal_id, till.next_seq)
    steps = steps_at(uow, till.location)
    answers = [_record(uow, till, book, steps, line) for line in cmd.lines]
    till.record_lines(book, cmd.trace)
    body = {"till": cmd.till, "journal_id": cmd.journal_id, "next_seq": book.next_seq}
    return Result({**body, "lines": answers})


def _record(
    uow: UnitOfWork, till: Till, book: LineBook, steps: tuple[str, ...], cmd: RecordTillLine
) -> dict[str, Any]:
    if book.is_recorded(cmd.seq, till):
        return _answer(cmd, "already_recorded")
    try:
        book.require_next(cmd.seq, till.till)
    except TillSequenceError as error:
        return _answer(cmd, "error", error=error.code, detail=error.message)
    refusal = cmd.rejection or _refusal(uow, till, book, cmd)
    if refusal is not None:
        book.recorded(cmd.seq, cmd.kind, "rejected", error=refusal)
        return _answer(cmd, "rejected", error=refusal)
    line = TillLine(till.till, cmd.seq, cmd.trace)
    done: list[dict[str, Any]] = []
    applied = []
    for item in cmd.items:
        stock = _stock(uow, item.sku, till.location)
        if cmd.kind == SALE:
            sold, conflict = _sell(uow, stock, item, steps, line)
            applied.append(sold)
            done += conflict
        else:
            applied.append(_take_back(stock, item, cmd))
    book.recorded(cmd.seq, cmd.kind, "applied", conflict=done, voids=cmd.voids)
    return _answer(cmd, "applied", items=applied, reconciliation=done or None)


def till_of(uow: UnitOfWork, code: str) -> Till:
    till = find_as(uow, till_id(code), Till)
    if till is None:
        raise UnknownTillError(f"no till {code!r} is registered", till=code)
    return till


def steps_at(uow: UnitOfWork, location: str) -> tuple[str, ...]:
    policy = view_as(uow, policy_id(location), ReconciliationPolicy)
    return DEFAULT_STEPS if policy is None else policy.steps


def _sell(
    uow: UnitOfWork, stock: Stock, item: TillItem, steps: tuple[str, ...], line: TillLine
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    done = reconcile(uow, stock, item.quantity, steps, line)
    price = sku_of(uow, item.sku)
    allocations, short = stock.sell_at_till(item.quantity, price.price, price.currency, line.trace)
    shortage = record_shortage(uow, stock, short, line)
    if done or shortage:
        conflict = {"sku": item.sku, "location": stock.location, "units_not_free": short}
        done = [{**conflict, **step} for step in [*done, *([shortage] if shortage else [])]]
    sold = {"sku": item.sku, "quantity": item.quantity, "allocations": allocations}
    return {**sold, "unit_price": str(price.price)}, done


def _take_back(stock: Stock, item: TillItem, cmd: RecordTillLine) -> dict[str, Any]:
    """A return (into the named batch) or a void (into the batches sold here)."""
    if cmd.kind == RETURN:
        batches = {item.batch or "": item.quantity}
    else:
        batches = _sold_batches(stock, item)
    for number, quantity in batches.items():
        stock.accept_return(number, item.expiry, quantity, item.restock, cmd.trace)
    return {"sku": item.sku, "quantity": item.quantity, "batches": batches}


def _sold_batches(stock: Stock, item: TillItem) -> dict[str, int]:
    """The batches a void gives back to: sold here, the last to expire first."""
    left, taken = item.quantity, dict[str, int]()
    by_batch = stock.returns.by_batch
    order = sorted(by_batch, key=lambda n: (stock.batches[n].expiry, n), reverse=True)
    for number in order:
        take = min(by_batch[number], left)
        if take > 0:
            taken[number] = take
            left -= take
    if left:
        raise ReturnExceedsSaleError(
            f"a void takes back {item.quantity} unit(s) of {item.sku}, but only "
            f"{item.quantity - left} sold at {stock.location} are not yet returned",
            sku=item.sku,
        )
    return taken


def _refusal(uow: UnitOfWork, till: Till, book: LineBook, cmd: RecordTillLine) -> str | None:
    """Why the line cannot be applied, found before anything changes (returns and voids are
    tried on copies of their stock)."""
    try:
        if cmd.voids is not None:
            book.require_voidable(cmd.seq, cmd.voids, till)
        for item in cmd.items:
            sku_of(uow, item.sku)
            stock = view_as(uow, stock_id(item.sku, till.location), Stock)
            if cmd.kind == SALE:
                if stock is None or not stock.batches:
                    return (
                        f"{item.sku} was never held at {till.location}: no batch to sell from; "
                        "receive it there, or correct the line's SKU"
                    )
            elif stock is None:
                return f"nothing of {item.sku} was ever sold at {till.location} to take back"
            else:
                _take_back(copy.deepcopy(stock), item, cmd)
    except DomainError as error:
        return error.message
    return None


def _stock(uow: UnitOfWork, sku: str, location: str) -> Stock:
    stock = find_as(uow, stock_id(sku, location), Stock)
    assert stock is not None  # _refusal made sure
    return stock


def _answer(cmd: RecordTillLine, outcome: str, **more: Any) -> dict[str, Any]:
    return {
        "seq": cmd.seq,
        "kind": cmd.kind,
        "outcome": outcome,
        **{k: v for k, v in more.items() if v is not None},
    }


TILL_HANDLERS: dict[type[Any], Callable[[Any, UnitOfWork], Result]] = {
    RegisterTill: register_till,
    DeclareReconciliationPolicy: declare_policy,
    RecordTillLines: record_till_lines,
}
