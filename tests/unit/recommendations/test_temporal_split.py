"""The leave-future-out split's invariants, on any interactions: nothing held out happened
before the cut and nothing trained on after it; warm and cold test users partition the test
users exactly; recent popularity reads only its window before the cut; the window is chosen
without looking past the validation cut."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.temporal import (
    DAY,
    Interactions,
    best_window,
    blend,
    decayed_popularity,
    recent_popularity,
    standardised,
    temporal_split,
)

USERS, ITEMS = 12, 9


@st.composite
def interactions(draw: st.DrawFn) -> Interactions:
    size = draw(st.integers(1, 80))
    users = draw(st.lists(st.integers(0, USERS - 1), min_size=size, max_size=size))
    items = draw(st.lists(st.integers(0, ITEMS - 1), min_size=size, max_size=size))
    # Days apart, often equal: ties at the cut must land on one side only.
    days = draw(st.lists(st.integers(0, 60), min_size=size, max_size=size))
    return Interactions(
        np.array(users, np.int64),
        np.array(items, np.int64),
        np.array(days, np.float64) * DAY,
        (USERS, ITEMS),
    )


shares = st.sampled_from([0.1, 0.2, 0.3, 0.5])


@given(interactions(), shares)
def test_no_held_out_interaction_happened_before_the_cut(data: Interactions, share: float) -> None:
    split = temporal_split(data, share)
    assert (data.times[split.test] >= split.cutoff).all()
    assert (data.times[split.train] < split.cutoff).all()
    assert not (split.train & split.test).any()
    assert (split.train | split.test).all()
    assert split.test.any()  # the latest interaction is always held out


@given(interactions(), shares)
def test_warm_and_cold_test_users_partition_the_test_users_exactly(
    data: Interactions, share: float
) -> None:
    split = temporal_split(data, share)
    assert list(split.test_users) == sorted(set(data.users[split.test].tolist()))
    before = set(data.users[split.train].tolist())
    for user, warm in zip(split.test_users.tolist(), split.warm.tolist(), strict=True):
        assert warm == (user in before)
    assert (split.warm ^ split.cold).all()
    assert split.warm.sum() + split.cold.sum() == len(split.test_users)


@given(interactions(), st.integers(1, 30), st.integers(0, 40))
def test_recent_popularity_counts_only_its_window_before_the_cut(
    data: Interactions, days: int, moved_day: int
) -> None:
    split = temporal_split(data, 0.3)
    found = recent_popularity(data, split.train, split.cutoff, days)
    expected = np.zeros(ITEMS)
    for item, at, trained in zip(data.items, data.times, split.train, strict=True):
        if trained and split.cutoff - days * DAY <= at < split.cutoff:
            expected[item] += 1
    assert np.array_equal(found, expected)
    # Moving every interaction outside the window anywhere else outside it changes nothing.
    outside = (data.times < split.cutoff - days * DAY) | (data.times >= split.cutoff)
    shifted = data.times.copy()
    shifted[outside & (data.times < split.cutoff)] -= moved_day * DAY
    shifted[outside & (data.times >= split.cutoff)] += moved_day * DAY
    moved = Interactions(data.users, data.items, shifted, data.shape)
    again = recent_popularity(moved, split.train, split.cutoff, days)
    assert np.array_equal(found, again)


@given(interactions())
def test_all_time_popularity_is_every_training_interaction(data: Interactions) -> None:
    split = temporal_split(data, 0.2)
    counts = recent_popularity(data, split.train, split.cutoff, None)
    assert counts.sum() == split.train.sum()


@given(interactions(), st.sampled_from([1.0, 7.0, 30.0]))
def test_the_trend_halves_with_age_and_never_reads_past_the_cut(
    data: Interactions, half_life: float
) -> None:
    split = temporal_split(data, 0.2)
    trend = decayed_popularity(data, split.train, split.cutoff, half_life)
    recent = recent_popularity(data, split.train, split.cutoff, None)
    assert (trend <= recent + 1e-4).all() and (trend >= 0).all()
    assert ((trend > 0) == (recent > 0)).all()


@settings(max_examples=40)
@given(interactions())
def test_the_recent_window_is_chosen_without_the_test(data: Interactions) -> None:
    split = temporal_split(data, 0.2)
    if not split.train.any():
        return
    validation = temporal_split(data, 0.2, within=split.train)
    chosen = best_window(data, validation, (3.0, 7.0, 30.0))
    # Whatever happened after the cut (here: other items), the choice is the same.
    items = data.items.copy()
    items[split.test] = (items[split.test] + 1 + len(split.test_users)) % ITEMS
    future = Interactions(data.users, items, data.times, data.shape)
    assert best_window(future, validation, (3.0, 7.0, 30.0)) == chosen


def test_a_share_outside_zero_to_one_is_refused_with_what_was_expected() -> None:
    data = Interactions(np.zeros(2, np.int64), np.zeros(2, np.int64), np.zeros(2), (1, 1))
    with pytest.raises(ValueError, match="between 0 and 1"):
        temporal_split(data, 1.0)


@given(st.lists(st.floats(-5, 5), min_size=2, max_size=20), st.floats(0, 4))
def test_a_blend_with_no_trend_keeps_the_model_s_order(values: list[float], weight: float) -> None:
    model = np.array([values], np.float32)
    blended = blend(model, np.zeros(len(values), np.float32), weight)
    assert np.allclose(blended, standardised(model), atol=1e-5)
    assert np.isfinite(blended).all()
