"""The report's statistics on simulated populations: an A/A experiment (two identical variants)
shows no significant difference at about the nominal rate over many fixed seeds; a real
effect is found; the intervals agree with scipy's own; CUPED narrows without moving."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from domain.experiment import Variant, bucket, variant_for
from projections.experiment_metrics import VariantFigures
from recommender.experiment_statistics import (
    Cuped,
    Guardrails,
    lift,
    mean_interval,
    newcombe,
    variant_report,
    welch,
    wilson,
)

AA = [Variant("a1", 50, "policy", "standard"), Variant("a2", 50, "policy", "standard")]


@dataclass
class Population:
    exposures: np.ndarray
    clicks: np.ndarray
    revenue: np.ndarray
    pre_revenue: np.ndarray
    orders: np.ndarray
    returned: np.ndarray


def population(seed: int, n: int, lift_revenue: float = 0.0, treated: np.ndarray | None = None
               ) -> Population:  # fmt: skip
    """Customers whose spending before exposure predicts their spending after (CUPED's
    premise): a taste for spending, purchases zero-inflated, values lognormal."""
    rng = np.random.default_rng(seed)
    taste = rng.gamma(2.0, 1.0, n)
    buys_before = rng.random(n) < np.clip(0.15 * taste, 0, 0.9)
    repeat = rng.random(n) < 0.7  # most who bought before buy again
    buys_after = np.where(repeat, buys_before, rng.random(n) < np.clip(0.15 * taste, 0, 0.9))
    pre = buys_before * rng.lognormal(3.0 + 0.3 * taste, 0.5)
    revenue = buys_after * rng.lognormal(3.0 + 0.3 * taste, 0.5)
    if treated is not None:
        revenue = revenue * (1 + lift_revenue * treated)
    orders = buys_after * (1 + rng.poisson(0.3, n))
    returned = rng.binomial(orders, 0.08)
    exposures = 1 + rng.poisson(2.0, n)
    clicks = rng.binomial(exposures, 0.1)
    return Population(exposures, clicks, revenue, pre, orders, returned)


def figures(name: str, p: Population, mask: np.ndarray) -> VariantFigures:
    """What ClickHouse's per-variant aggregation gives (sample variances and covariances)."""
    e, c, r, x = p.exposures[mask], p.clicks[mask], p.revenue[mask], p.pre_revenue[mask]

    def cov(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.cov(a, b, ddof=1)[0, 1])

    return VariantFigures(
        name, int(mask.sum()), int(e.sum()), float(e.mean()), float(e.var(ddof=1)),
        int(c.sum()), float(c.mean()), float(c.var(ddof=1)), cov(c, e),
        int((p.orders[mask] > 0).sum()), int(p.orders[mask].sum()),
        int(p.returned[mask].sum()), 0, float(r.mean()), float(r.var(ddof=1)),
        float(x.mean()), float(x.var(ddof=1)), cov(r, x),
    )  # fmt: skip


def split(seed: int, n: int) -> np.ndarray:
    """Variant a2's customers, by the real assignment hash of random customer ids."""
    rng = np.random.default_rng(10_000 + seed)
    experiment = uuid.UUID(int=int(rng.integers(0, 2**63)))
    ids = [str(uuid.UUID(int=int(v))) for v in rng.integers(0, 2**63, n)]
    return np.array([variant_for(AA, bucket(experiment, c)).name == "a2" for c in ids])


def lifts(seed: int, n: int = 2000) -> dict[str, dict[str, object]]:
    treated = split(seed, n)
    p = population(seed, n)
    a1, a2 = figures("a1", p, ~treated), figures("a2", p, treated)
    return lift(a2, a1, Cuped.of([a1, a2]))


def test_an_aa_experiment_is_significant_at_about_the_nominal_rate_over_fixed_seeds() -> None:
    seeds = range(300)
    found = {"ctr": 0, "conversion": 0, "revenue_per_exposed": 0}
    for seed in seeds:
        for metric, figure in lifts(seed).items():
            found[metric] += bool(figure["significant"])
    rates = {metric: count / len(seeds) for metric, count in found.items()}
    # 5% nominal; 300 seeds give a standard error of 1.3 points
    assert all(0.015 <= rate <= 0.09 for rate in rates.values()), rates


def test_one_aa_experiment_has_every_difference_interval_around_zero() -> None:
    # seed 1 of the fixed seeds (seeds 4 and 7 are among the 5% that differ by chance)
    for metric, figure in lifts(1, 5000).items():
        difference = figure["difference"]
        assert isinstance(difference, dict)
        assert difference["low"] <= 0 <= difference["high"], (metric, difference)


def test_a_real_revenue_effect_is_found_and_cuped_narrows_the_interval() -> None:
    n = 20_000
    treated = split(1, n)
    p = population(1, n, lift_revenue=0.15, treated=treated)
    control, variant = figures("a1", p, ~treated), figures("a2", p, treated)
    cuped = Cuped.of([control, variant])
    found = lift(variant, control, cuped)["revenue_per_exposed"]
    assert found["significant"] and found["relative"] == pytest.approx(0.15, abs=0.08)
    plain = welch(variant.revenue_mean, variant.revenue_var, variant.customers,
                  control.revenue_mean, control.revenue_var, control.customers)  # fmt: skip
    adjusted = found["difference"]
    assert adjusted["high"] - adjusted["low"] < 0.95 * (plain.high - plain.low)
    assert cuped.theta > 0


def test_the_intervals_agree_with_scipys() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(2, 1, 300), rng.lognormal(2.1, 1.2, 250)
    ours = welch(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    theirs = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (ours.low, ours.high) == pytest.approx((theirs.low, theirs.high), rel=1e-9)
    one = mean_interval(a.mean(), a.var(ddof=1), len(a))
    expected = stats.ttest_1samp(a, 0).confidence_interval(0.95)
    assert (one.low, one.high) == pytest.approx((expected.low, expected.high), rel=1e-9)
    for k, n in ((0, 40), (7, 40), (40, 40), (130, 1000)):
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert (wilson(k, n).low, wilson(k, n).high) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_newcombes_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Table II, example (a): 56/70 against 48/80 -> 0.0524 to 0.3339
    found = newcombe(56, 70, 48, 80)
    assert (found.low, found.high) == pytest.approx((0.0524, 0.3339), abs=5e-4)


def test_guardrails_breach_on_one_violation_and_on_returns_above_the_threshold() -> None:
    n = 4000
    treated = split(2, n)
    p = population(2, n)
    control = figures("control", p, ~treated)
    variant = figures("b", p, treated)
    rules = Guardrails(returns_points=2.0, min_orders=30)
    cuped = Cuped.of([control, variant])
    assert variant_report(variant, control, cuped, rules)["guardrails"] == {
        "rule_violations": "ok",
        "returns_rate": "ok",
        "returns_points_above_control": pytest.approx(
            100
            * (variant.returned_orders / variant.orders - control.returned_orders / control.orders),
            abs=1e-3,
        ),
    }
    broken = VariantFigures(**{**variant.__dict__, "rule_violations": 1})
    assert variant_report(broken, control, cuped, rules)["guardrails"]["rule_violations"] == (
        "breached"
    )
    returning = VariantFigures(**{**variant.__dict__, "returned_orders": variant.orders // 4})
    status = variant_report(returning, control, cuped, rules)["guardrails"]
    assert status["returns_rate"] == "breached"
    few = Guardrails(returns_points=2.0, min_orders=variant.orders + 1)
    status = variant_report(returning, control, cuped, few)["guardrails"]
    assert status["returns_rate"] == "too-few-orders"
