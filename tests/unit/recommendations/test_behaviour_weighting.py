"""How recent behaviour weighs: a view less than a click, a click less than an add-to-cart, all
far less than a purchase; it fades with a shorter half-life than purchases; repeated views stop
adding; and it never lifts a product out of what a return or a poor rating barred."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from configuration.settings import Settings, SettingsError
from recommender.config import behaviour_url
from recommender.signals import (
    ADD_TO_CART,
    BEHAVIOUR,
    PURCHASE,
    RATING,
    RECOMMENDATION_CLICK,
    RETURN,
    VIEW,
    Interaction,
)
from recommender.weighting import Weighting, weigh

NOW = datetime(2026, 5, 1, tzinfo=UTC)
W = Weighting()


def once(kind: str, days_ago: float = 0.0, value: float = 1.0) -> Interaction:
    return Interaction("C1", "P1", kind, NOW - timedelta(days=days_ago), value)


def weight(*interactions: Interaction) -> float:
    return weigh(interactions, NOW, W).positive.get(("C1", "P1"), 0.0)


def test_a_view_weighs_less_than_a_click_less_than_a_cart_less_than_a_purchase() -> None:
    view, click, cart = (
        weight(once(VIEW)),
        weight(once(RECOMMENDATION_CLICK)),
        weight(once(ADD_TO_CART)),
    )
    assert 0 < view < click < cart < weight(once(PURCHASE))
    assert (view, click, cart) == (W.view, W.recommendation_click, W.add_to_cart)


def test_behaviour_halves_every_behaviour_half_life_faster_than_a_purchase() -> None:
    half = W.behaviour_half_life_days
    assert weight(once(VIEW, half)) == pytest.approx(W.view / 2)
    assert weight(once(VIEW, 2 * half)) == pytest.approx(W.view / 4)
    assert weight(once(PURCHASE, half)) > 0.9  # a purchase fades over months, not weeks


def test_repeated_views_stop_adding_at_the_cap() -> None:
    capped = W.view * W.max_behaviour_events
    assert weight(once(VIEW, value=3.0)) == pytest.approx(3 * W.view)
    assert weight(once(VIEW, value=50.0)) == pytest.approx(capped)
    assert weight(once(VIEW, value=-4.0)) == 0.0  # a count is never negative


def test_behaviour_in_the_future_of_now_is_left_out() -> None:
    assert weight(once(ADD_TO_CART, days_ago=-1)) == 0.0


def test_intent_holds_behaviour_alone_and_positive_holds_it_with_purchases() -> None:
    found = weigh([once(PURCHASE), once(VIEW)], NOW, W)
    assert found.positive[("C1", "P1")] == pytest.approx(1 + W.view)
    assert found.intent == {("C1", "P1"): pytest.approx(W.view)}
    assert weigh([once(PURCHASE)], NOW, W).intent == {}


kinds = st.sampled_from(BEHAVIOUR)
events = st.lists(st.tuples(kinds, st.floats(0, 400), st.floats(0, 1000)), min_size=1, max_size=20)


@given(events, st.integers(1, 3), st.floats(0, 200))
def test_behaviour_never_lifts_a_returned_product(
    behaviour: list[tuple[str, float, float]], units: int, days_ago: float
) -> None:
    bought = once(PURCHASE, days_ago, units)
    returned = once(RETURN, days_ago, units)
    seen = [once(kind, age, count) for kind, age, count in behaviour]
    found = weigh([bought, returned, *seen], NOW, W)
    assert ("C1", "P1") in found.negative
    assert ("C1", "P1") not in found.positive
    assert ("C1", "P1") not in found.intent


@given(events)
def test_behaviour_alone_is_never_negative_and_never_more_than_the_cap(
    behaviour: list[tuple[str, float, float]],
) -> None:
    seen = [once(kind, age, count) for kind, age, count in behaviour]
    found = weigh(seen, NOW, W)
    assert not found.negative
    most = len(seen) * W.add_to_cart * W.max_behaviour_events
    assert 0 <= found.positive.get(("C1", "P1"), 0.0) <= most + 1e-9


@given(kinds, st.floats(0, 300), st.floats(0.01, 100))
def test_older_behaviour_never_weighs_more(kind: str, age: float, later: float) -> None:
    assert weight(once(kind, age + later)) <= weight(once(kind, age))


def test_a_poor_rating_is_not_undone_by_browsing() -> None:
    found = weigh([once(RATING, value=1.0), once(ADD_TO_CART, value=5.0)], NOW, W)
    assert ("C1", "P1") in found.negative and not found.positive


def test_the_behaviour_source_is_a_clickhouse_server_or_a_named_chdb_path() -> None:
    server = Settings(analytics_url="http://clickhouse:8123")
    assert behaviour_url(server) == "http://clickhouse:8123"
    assert behaviour_url(Settings(analytics_url="chdb:///var/analytics")) is None
    named = Settings.from_env({"GLOW_RECOMMENDER_BEHAVIOUR_URL": "chdb:///srv/behaviour"})
    assert behaviour_url(named) == "chdb:///srv/behaviour"
    off = Settings.from_env(
        {"GLOW_ANALYTICS_URL": "http://clickhouse:8123", "GLOW_RECOMMENDER_BEHAVIOUR_DAYS": "0"}
    )
    assert behaviour_url(off) is None
    assert Settings.from_env(named.as_env()) == named


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("GLOW_RECOMMENDER_BEHAVIOUR_URL", "redis://x", "http:// or https://"),
        ("GLOW_RECOMMENDER_BEHAVIOUR_DAYS", "400", "0 (no behaviour) to 365"),
        ("GLOW_RECOMMENDER_BEHAVIOUR_DAYS", "-1", "0 (no behaviour) to 365"),
        ("GLOW_RECOMMENDER_BEHAVIOUR_MAX_ROWS", "0", "1 to 10,000,000"),
        ("GLOW_RECOMMENDER_BEHAVIOUR_MAX_ROWS", "many", "whole number"),
    ],
)
def test_bad_behaviour_settings_are_refused_naming_what_is_expected(
    variable: str, value: str, named: str
) -> None:
    with pytest.raises(SettingsError, match=variable) as refused:
        Settings.from_env({variable: value})
    assert named in str(refused.value)
