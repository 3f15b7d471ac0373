"""Whatever the history, a forecast's days are non-negative and their quantiles are too, and
never lower at a higher level."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.forecasts import QUANTILES
from forecasting.selection import forecast

histories = st.lists(
    st.one_of(st.just(0.0), st.floats(0, 40, allow_nan=False)), min_size=1, max_size=120
)


@settings(max_examples=80, deadline=None)
@given(histories, st.integers(1, 28), st.sampled_from([7, 12]))
def test_quantiles_are_monotone_in_the_level_and_never_negative(
    history: list[float], horizon: int, season: int
) -> None:
    found = forecast(np.asarray(history), horizon, season)
    assert found.mean.shape == (horizon,) and found.quantiles.shape == (horizon, len(QUANTILES))
    assert (found.mean >= 0).all() and np.isfinite(found.mean).all()
    assert (found.quantiles >= 0).all() and np.isfinite(found.quantiles).all()
    assert (np.diff(found.quantiles, axis=1) >= 0).all()
    assert found.choice.daily_rmse >= 0 or np.isnan(found.choice.daily_rmse)
