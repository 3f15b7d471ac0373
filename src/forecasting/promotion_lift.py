"""Promotions in a forecast: what a promotion does to demand, learnt from the promotions the
history holds, taken out of what the models learn and put back on the days a scheduled
promotion will run.

The lift is pooled over every series with promotion days and enough days without: the units
demanded on promotion days over what the same series' days without a promotion would have given
on as many days (one series' promotion is a couple of weeks of a few units: too noisy alone).
It is kept between 1 and MAX_LIFT, and 1 when no series has both. Models learn each series with
its promotion days divided by the lift (a baseline not inflated by past promotions); the days
of the horizon on which a promotion of the SKU's product is scheduled get the forecast and its
quantiles multiplied by it. Promotions are taken on every channel of the location: the lift is
learnt the same way, so a promotion on one channel shows as a smaller lift."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

MAX_LIFT = 5.0
MIN_PLAIN_DAYS = 14  # a series' days without promotion needed to judge its promotion days

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]


def pooled_lift(targets: Sequence[Floats], promoted: Sequence[Flags]) -> float:
    """Demand on promotion days over the same series' demand without promotion (>= 1)."""
    on, expected = 0.0, 0.0
    for y, flags in zip(targets, promoted, strict=True):
        days = int(flags.sum())
        if days == 0 or len(y) - days < MIN_PLAIN_DAYS:
            continue
        on += float(y[flags].sum())
        expected += float(y[~flags].mean()) * days
    if expected <= 0:
        return 1.0
    return float(min(MAX_LIFT, max(1.0, on / expected)))


def deflated(y: Floats, promoted: Flags, lift: float) -> Floats:
    """The series with its promotion days brought back to the baseline."""
    if lift == 1.0 or not promoted.any():
        return y
    return np.where(promoted, y / lift, y)


def lifted(values: Floats, promoted: Flags, lift: float) -> Floats:
    """Forecast rows (a day each: a mean, or a row of quantiles) raised on promotion days."""
    if lift == 1.0 or not promoted.any():
        return values
    factor = np.where(promoted, lift, 1.0)
    return values * (factor if values.ndim == 1 else factor[:, None])
