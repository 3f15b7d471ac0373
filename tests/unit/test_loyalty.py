"""Loyalty points on the Customer: earned per sale once, lost on returns up to what the sale
earned, redeemed first-expiring-first, refused beyond the balance, expired after their last
day, the tier following the qualifying points; properties over any sequence of these."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.memory_uow import MemoryUnitOfWork

from domain import customer_commands as c
from domain.customer import LOYALTY_TIERS, Customer
from domain.customer_handlers import handle_customer
from domain.errors import CustomerForgottenError, InsufficientPointsError, InvalidCommandError
from domain.loyalty import (
    check_tiers,
    loss_reference,
    points_for,
    sale_reference,
    tier_for,
)
from domain.results import Result
from domain.trace import Trace
from privacy.pseudonyms import Pseudonyms

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY0 = NOW.date()
TRACE = Trace("backoffice", "loyalty-follower", NOW)
TIERS = (("member", 0), ("silver", 100), ("gold", 300), ("platinum", 1000))
PSEUDONYMS = Pseudonyms.from_secret(b"unit-test-ledger-secret")


def run(uow: MemoryUnitOfWork, command: Any) -> Result:
    return uow.run(command, handle_customer)


def customer(uow: MemoryUnitOfWork) -> uuid.UUID:
    claim = c.IdentityClaim("email", PSEUDONYMS.identity_id("email", f"{uuid.uuid4()}@x.io"))
    answer = run(uow, c.RegisterCustomer(uuid.uuid4(), {"name": "Ada"}, (claim,), TRACE))
    return uuid.UUID(answer.body["customer_id"])


def earn(uow: MemoryUnitOfWork, who: uuid.UUID, points: int, order: str, days: int = 365) -> Result:
    expires = DAY0 + timedelta(days=days)
    return run(uow, c.EarnPoints(who, points, sale_reference(order), expires, TRACE, TIERS))


def book(uow: MemoryUnitOfWork, who: uuid.UUID) -> Customer:
    found = uow.get(who)
    assert isinstance(found, Customer)
    return found


def test_a_sale_earns_once_and_the_tier_follows() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    assert earn(uow, who, 120, "o1").body == {
        "customer_id": str(who),
        "version": 4,  # registered, email linked, points earned, tier changed
        "earned": 120,
        "balance": 120,
        "tier": "silver",
    }
    assert uow.event_types() == ["Customer.PointsEarned", "Customer.LoyaltyTierChanged"]
    assert earn(uow, who, 120, "o1").body["earned"] == 0  # the same sale again: nothing
    assert uow.event_types() == []
    assert book(uow, who).loyalty.balance == 120


def test_redeeming_more_than_the_balance_is_refused_with_the_figures() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    earn(uow, who, 50, "o1")
    with pytest.raises(InsufficientPointsError) as refused:
        run(uow, c.RedeemPoints(who, 51, "checkout:1", TRACE))
    assert "has 50 point(s); 51 cannot be redeemed: expected at most 50" in refused.value.message
    assert refused.value.details == {"customer_id": str(who), "balance": 50, "requested": 51}
    assert book(uow, who).loyalty.balance == 50
    for bad in (0, -5):
        with pytest.raises(InvalidCommandError, match="positive whole number"):
            run(uow, c.RedeemPoints(who, bad, "checkout:2", TRACE))


def test_redemption_spends_the_lots_that_expire_first() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    earn(uow, who, 30, "late", days=400)
    earn(uow, who, 20, "early", days=100)
    run(uow, c.RedeemPoints(who, 25, "checkout:1", TRACE))
    lots = {lot.reference: lot.left for lot in book(uow, who).loyalty.lots}
    assert lots == {"order:late": 25, "order:early": 0}


def test_a_return_loses_at_most_what_its_sale_earned_and_the_balance() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    earn(uow, who, 40, "o1")
    earn(uow, who, 500, "o2")
    lose = c.LosePoints(who, 90, loss_reference("o1", "R1"), TRACE, TIERS)
    assert run(uow, lose).body["lost"] == 40  # o1 earned 40
    assert run(uow, lose).body["lost"] == 0  # the same return again
    again = c.LosePoints(who, 10, loss_reference("o1", "R2"), TRACE, TIERS)
    assert run(uow, again).body["lost"] == 0  # o1 has nothing left to lose
    run(uow, c.RedeemPoints(who, 490, "checkout:1", TRACE))
    big = c.LosePoints(who, 500, loss_reference("o2", "R1"), TRACE, TIERS)
    assert run(uow, big).body == {
        "customer_id": str(who),
        "version": book(uow, who).version,
        "lost": 10,  # what was left: redeemed points stay redeemed
        "balance": 0,
        "tier": "gold",  # 540 earned - 50 lost: qualifying 490
    }
    unsold = c.LosePoints(who, 5, loss_reference("o9", "R1"), TRACE, TIERS)
    assert run(uow, unsold).body["lost"] == 0  # a sale that earned nothing


def test_expiry_takes_what_lots_past_their_last_day_have_left_once() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    earn(uow, who, 150, "o1", days=10)
    earn(uow, who, 60, "o2", days=40)
    run(uow, c.RedeemPoints(who, 20, "checkout:1", TRACE))
    on_last_day = c.ExpirePoints(who, DAY0 + timedelta(days=10), TRACE, TIERS)
    assert run(uow, on_last_day).body["expired"] == 0
    day_after = c.ExpirePoints(who, DAY0 + timedelta(days=11), TRACE, TIERS)
    answer = run(uow, day_after).body
    assert (answer["expired"], answer["balance"], answer["tier"]) == (130, 60, "member")
    assert uow.event_types() == ["Customer.PointsExpired", "Customer.LoyaltyTierChanged"]
    assert run(uow, day_after).body["expired"] == 0
    assert uow.event_types() == []


def test_a_spent_lot_passing_its_last_day_still_lowers_the_tier() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    earn(uow, who, 120, "o1", days=5)
    run(uow, c.RedeemPoints(who, 120, "checkout:1", TRACE))
    assert book(uow, who).loyalty_tier == "silver"  # redeeming does not demote
    answer = run(uow, c.ExpirePoints(who, DAY0 + timedelta(days=6), TRACE, TIERS)).body
    assert (answer["expired"], answer["tier"]) == (0, "member")


def test_a_forgotten_customer_earns_and_redeems_nothing() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    earn(uow, who, 10, "o1")
    run(uow, c.ForgetCustomer(who, TRACE))
    with pytest.raises(CustomerForgottenError):
        earn(uow, who, 10, "o2")
    with pytest.raises(CustomerForgottenError):
        run(uow, c.RedeemPoints(who, 5, "checkout:1", TRACE))


def test_references_name_a_sale_or_a_return_of_one() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    with pytest.raises(InvalidCommandError, match="order:<id>"):
        run(uow, c.EarnPoints(who, 5, "gift", DAY0, TRACE, TIERS))
    with pytest.raises(InvalidCommandError, match="order:<id>/<return>"):
        run(uow, c.LosePoints(who, 5, "order:o1", TRACE, TIERS))


def test_points_for_money_round_down_and_tiers_are_checked() -> None:
    assert points_for(Decimal("59.99"), Decimal(1)) == 59
    assert points_for(Decimal("10.05"), Decimal("2.5")) == 25
    assert tier_for(0, TIERS) == "member" and tier_for(300, TIERS) == "gold"
    assert check_tiers(TIERS, LOYALTY_TIERS) == TIERS
    for bad in ((("silver", 10),), (("member", 0), ("gold", 10), ("silver", 5))):
        with pytest.raises(InvalidCommandError):
            check_tiers(bad, LOYALTY_TIERS)
    with pytest.raises(InvalidCommandError, match="unknown loyalty tier"):
        check_tiers((("member", 0), ("diamond", 9)), LOYALTY_TIERS)


# --- properties over any sequence ---------------------------------------------------------------

ORDERS = [f"o{n}" for n in range(4)]
step = st.one_of(
    st.tuples(
        st.just("earn"),
        st.integers(1, 400),
        st.sampled_from(ORDERS),
        st.integers(0, 60),
    ),
    st.tuples(st.just("lose"), st.integers(1, 400), st.sampled_from(ORDERS), st.integers(1, 3)),
    st.tuples(st.just("redeem"), st.integers(1, 400), st.just(""), st.just(0)),
    st.tuples(st.just("expire"), st.just(0), st.just(""), st.integers(0, 70)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(step, max_size=25))
def test_any_sequence_keeps_the_book_whole(steps: list[tuple[str, int, str, int]]) -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    earned: dict[str, int] = {}
    lost: dict[str, int] = {}
    for kind, points, order, extra in steps:
        before = book(uow, who).loyalty.balance
        if kind == "earn":
            got = earn(uow, who, points, order, days=extra).body["earned"]
            assert got == (0 if order in earned else points)
            earned.setdefault(order, points)
        elif kind == "lose":
            ref = loss_reference(order, f"R{extra}")
            got = run(uow, c.LosePoints(who, points, ref, TRACE, TIERS)).body["lost"]
            lost[order] = lost.get(order, 0) + got
            assert lost[order] <= earned.get(order, 0)  # never more than the sale earned
            assert got <= before
        elif kind == "redeem":
            if points > before:
                with pytest.raises(InsufficientPointsError):
                    run(uow, c.RedeemPoints(who, points, "checkout", TRACE))
                assert book(uow, who).loyalty.balance == before
            else:
                run(uow, c.RedeemPoints(who, points, "checkout", TRACE))
                assert book(uow, who).loyalty.balance == before - points
        else:
            today = DAY0 + timedelta(days=extra)
            run(uow, c.ExpirePoints(who, today, TRACE, TIERS))
            assert all(
                lot.left == 0 for lot in book(uow, who).loyalty.lots if lot.expires_on < today
            )
        state = book(uow, who)
        assert all(lot.left >= 0 for lot in state.loyalty.lots)
        assert state.loyalty.balance >= 0
        assert state.loyalty_tier == tier_for(state.loyalty.qualifying(), TIERS)
    replayed = _replay(uow, who)
    assert vars(replayed.loyalty) == vars(book(uow, who).loyalty)
    assert replayed.loyalty_tier == book(uow, who).loyalty_tier


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 100), st.integers(0, 30)), min_size=1, max_size=8),
    st.integers(1, 800),
)
def test_points_are_spent_and_expire_first_earned_first(
    lots: list[tuple[int, int]], spend: int
) -> None:
    """Lots earned in order of their last day: whatever is spent, a later lot keeps points
    only if every earlier one is spent out, and expiry takes only lots past their day."""
    uow = MemoryUnitOfWork()
    who = customer(uow)
    days = 0
    for n, (points, gap) in enumerate(lots):
        days += gap
        earn(uow, who, points, f"o{n}", days=days)
    spend = min(spend, book(uow, who).loyalty.balance)
    run(uow, c.RedeemPoints(who, spend, "checkout", TRACE))
    left = [lot.left for lot in book(uow, who).loyalty.lots]
    for n, remaining in enumerate(left):
        if remaining and n + 1 < len(left):
            assert all(later == lots[m][0] for m, later in enumerate(left) if m > n)
    assert sum(left) == sum(points for points, _ in lots) - spend
    cut = DAY0 + timedelta(days=days // 2 + 1)
    run(uow, c.ExpirePoints(who, cut, TRACE, TIERS))
    for lot in book(uow, who).loyalty.lots:
        assert lot.left == 0 or lot.expires_on >= cut


def _replay(uow: MemoryUnitOfWork, who: uuid.UUID) -> Customer:
    aggregate: Any = None
    for event in uow.history[who]:
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Customer)
    return aggregate


def test_dates_are_kept_as_days() -> None:
    uow = MemoryUnitOfWork()
    who = customer(uow)
    earn(uow, who, 5, "o1", days=3)
    (lot,) = book(uow, who).loyalty.lots
    assert lot.expires_on == date(2026, 3, 5)
