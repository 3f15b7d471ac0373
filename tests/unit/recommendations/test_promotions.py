"""Promotions: the domain's rules for scheduling them, and their effect on ranking (within the
rules, with the reason; only while active, only on their channels)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalog import Product
from domain.errors import (
    InvalidCommandError,
    ProductDiscontinuedError,
    PromotionOverlapError,
    UnknownPromotionError,
)
from domain.promotions import Promotion
from domain.trace import Trace
from recommender.baselines import Popularity
from recommender.promotion_boost import reason
from recommender.ranking_policies import POLICIES, STANDARD, policy
from recommender.recommending import Recommender
from recommender.rules import RuleBook, Situation
from recommender.signals import CustomerFacts, ProductFacts

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
DAY = timedelta(days=1)
CHANNEL_SETS = st.sampled_from([(), ("web",), ("pos",), ("web", "app"), ("app", "pos")])


def trace(at: datetime = NOW) -> Trace:
    return Trace("backoffice", "tester", at)


def promotion(
    pid: str, starts: datetime, ends: datetime, channels: tuple[str, ...] = (), percent: int = 20
) -> Promotion:
    return Promotion(pid, percent, starts, ends, channels)


def a_product() -> Product:
    return Product.define("P1", {"name": "Serum"}, trace())


periods = st.tuples(st.integers(-20, 40), st.integers(1, 30)).map(
    lambda p: (NOW + p[0] * DAY, NOW + (p[0] + p[1]) * DAY)
)


@settings(max_examples=200, deadline=None)
@given(periods, CHANNEL_SETS, periods, CHANNEL_SETS)
def test_a_second_promotion_is_accepted_exactly_when_it_shares_no_channel_and_time(
    first: tuple[datetime, datetime],
    first_channels: tuple[str, ...],
    second: tuple[datetime, datetime],
    second_channels: tuple[str, ...],
) -> None:
    product = a_product()
    a = promotion("a", *first, first_channels)
    b = promotion("b", *second, second_channels)
    before = trace(NOW - 30 * DAY)
    product.schedule_promotion(a, before)
    same_time = first[0] < second[1] and second[0] < first[1]
    shared = not first_channels or not second_channels or set(first_channels) & set(second_channels)
    if same_time and shared:
        with pytest.raises(PromotionOverlapError) as refused:
            product.schedule_promotion(b, before)
        assert "already has promotion a" in refused.value.message
        assert product.live_promotions() == [a]
    else:
        product.schedule_promotion(b, before)
        assert product.live_promotions() == [a, b]
    assert a.overlaps(b) == b.overlaps(a) == bool(same_time and shared)


def test_a_withdrawn_promotion_frees_its_period_and_withdrawing_twice_changes_nothing() -> None:
    product = a_product()
    product.schedule_promotion(promotion("a", NOW, NOW + 7 * DAY), trace())
    with pytest.raises(PromotionOverlapError):
        product.schedule_promotion(promotion("b", NOW + DAY, NOW + 3 * DAY), trace())
    assert product.withdraw_promotion("a", trace()) is True
    assert product.withdraw_promotion("a", trace()) is False
    product.schedule_promotion(promotion("b", NOW + DAY, NOW + 3 * DAY), trace())
    assert [p.promotion_id for p in product.live_promotions()] == ["b"]
    with pytest.raises(UnknownPromotionError):
        product.withdraw_promotion("nope", trace())
    with pytest.raises(PromotionOverlapError, match="already scheduled"):
        product.schedule_promotion(promotion("a", NOW + 20 * DAY, NOW + 21 * DAY), trace())


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (promotion("x", NOW, NOW - DAY), "must end after it starts"),
        (promotion("x", NOW, NOW), "must end after it starts"),
        (promotion("x", NOW - 9 * DAY, NOW - 2 * DAY), "before it was scheduled"),
        (promotion("x", NOW, NOW + DAY, percent=0), "from 1 to 99, got 0"),
        (promotion("x", NOW, NOW + DAY, percent=100), "from 1 to 99, got 100"),
        (promotion("x", NOW, NOW + DAY, ("shop",)), "unknown channels shop"),
    ],
)
def test_a_promotion_that_is_not_one_is_refused_saying_why(made: Promotion, expected: str) -> None:
    with pytest.raises(InvalidCommandError, match=expected):
        a_product().schedule_promotion(made, trace())


def test_a_discontinued_product_cannot_be_promoted() -> None:
    product = a_product()
    product.discontinue(trace())
    with pytest.raises(ProductDiscontinuedError):
        product.schedule_promotion(promotion("x", NOW, NOW + DAY), trace())


# --- ranking ---------------------------------------------------------------------------------

HARMLESS = ("AQUA", "GLYCERIN")


def catalog(promoted: ProductFacts) -> dict[str, ProductFacts]:
    others = {
        f"P{n}": ProductFacts(f"P{n}", "serum", HARMLESS, (), (f"P{n}-30",)) for n in range(8)
    }
    return {**others, promoted.product_code: promoted}


def served(products: dict[str, ProductFacts], customer: CustomerFacts, **kw: object) -> list[str]:
    ranked = Counter({code: 100 - n for n, code in enumerate(products)})  # PROMO last
    recommender = Recommender(RuleBook(products), Popularity(ranked, {}))
    result = recommender.recommend(customer, Situation(), 50, **kw)  # type: ignore[arg-type]
    return [s.product_code for s in result.suggestions]


def promo(channels: tuple[str, ...] = (), inci: tuple[str, ...] = HARMLESS) -> ProductFacts:
    window = promotion("pr", NOW - DAY, NOW + 8 * DAY, channels)
    return ProductFacts("PROMO", "serum", inci, (), ("PROMO-30",), promotions=(window,))


@settings(max_examples=60, deadline=None)
@given(CHANNEL_SETS, st.sampled_from(["web", "app", "pos", None]), st.integers(-3, 12))
def test_a_promotion_moves_its_product_up_only_while_active_on_the_request_channel(
    channels: tuple[str, ...], channel: str | None, day: int
) -> None:
    products = catalog(promo(channels))
    customer = CustomerFacts("c1")
    at = NOW + day * DAY
    order = served(products, customer, policy=STANDARD, at=at, channel=channel)
    plain = served(products, customer, policy=policy("no-promotions"), at=at, channel=channel)
    applies = -1 <= day < 8 and (not channels or channel in channels)
    assert plain[-1] == "PROMO"
    assert (order.index("PROMO") < plain.index("PROMO")) == applies


def test_the_reason_names_the_discount_and_the_end_and_the_allergen_stays_excluded() -> None:
    products = catalog(promo())
    customer = CustomerFacts("c1")
    recommender = Recommender(
        RuleBook(products), Popularity(Counter(dict.fromkeys(products, 1)), {})
    )
    result = recommender.recommend(customer, Situation(), 50, STANDARD, NOW, "web")
    promoted = next(s for s in result.suggestions if s.product_code == "PROMO")
    assert promoted.reasons[-1] == "on promotion: 20% off until 12 December"

    allergic = CustomerFacts("c2", allergies=("limonene",))
    products = catalog(promo(inci=("AQUA", "LIMONENE")))
    shown = served(products, allergic, policy=POLICIES["standard"], at=NOW, channel="web")
    assert "PROMO" not in shown and len(shown) == 8


def test_the_reason_gives_the_year_when_the_promotion_ends_in_another() -> None:
    later = promotion("y", NOW, datetime(2027, 1, 3, tzinfo=UTC), percent=15)
    assert reason(later, NOW) == "on promotion: 15% off until 3 January 2027"
