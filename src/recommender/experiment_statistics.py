"""Per-variant rates with 95% confidence intervals, and each variant against the control.

Which interval for which figure:
- conversion (exposed customers with an attributed order) and returns rate (attributed orders
  that came back): Wilson score intervals; their difference to the control: Newcombe's hybrid
  score interval, built from the two Wilson intervals.
- revenue per exposed customer: the mean with a t interval; its difference to the control by
  Welch's t interval (unequal variances, Welch-Satterthwaite degrees of freedom), on values
  adjusted by CUPED with each customer's revenue in the N days before their first exposure as
  covariate (theta pooled over the variants, within-variant moments), which keeps the mean and
  narrows the interval by the share of variance the covariate explains. The unadjusted mean is
  reported beside it.
- CTR (clicks per list shown), a ratio of two per-customer sums: the delta method's normal
  interval, so that a customer who saw many lists does not count as many independent ones.

Everything is computed from the moments ClickHouse aggregates (`VariantFigures`); nothing here
sees a customer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats  # type: ignore[import-untyped]

from projections.experiment_metrics import VariantFigures

CONFIDENCE = 0.95
Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def contains(self, point: float) -> bool:
        return self.low <= point <= self.high

    def as_dict(self) -> dict[str, float]:
        return {"value": _r(self.value), "low": _r(self.low), "high": _r(self.high)}


def _r(x: float) -> float:
    return round(x, 6) if math.isfinite(x) else x


def wilson(successes: int, trials: int) -> Interval:
    if trials == 0:
        return Interval(math.nan, math.nan, math.nan)
    p = successes / trials
    denominator = 1 + Z * Z / trials
    centre = (p + Z * Z / (2 * trials)) / denominator
    half = Z * math.sqrt(p * (1 - p) / trials + Z * Z / (4 * trials * trials)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe(k1: int, n1: int, k0: int, n0: int) -> Interval:
    """The difference p1 - p0 of two proportions (Newcombe 1998, method 10)."""
    a, b = wilson(k1, n1), wilson(k0, n0)
    if not (n1 and n0):
        return Interval(math.nan, math.nan, math.nan)
    d = a.value - b.value
    low = d - math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2)
    high = d + math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2)
    return Interval(d, low, high)


def mean_interval(mean: float, variance: float, n: int) -> Interval:
    if n < 2:
        return Interval(mean if n else math.nan, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * math.sqrt(variance / n)
    return Interval(mean, mean - half, mean + half)


def welch(m1: float, v1: float, n1: int, m0: float, v0: float, n0: int) -> Interval:
    """The difference m1 - m0 of two means, Welch's t interval."""
    if n1 < 2 or n0 < 2:
        return Interval(m1 - m0, math.nan, math.nan)
    s1, s0 = v1 / n1, v0 / n0
    se = math.sqrt(s1 + s0)
    if se == 0:
        return Interval(m1 - m0, m1 - m0, m1 - m0)
    df = (s1 + s0) ** 2 / (s1**2 / (n1 - 1) + s0**2 / (n0 - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    return Interval(m1 - m0, m1 - m0 - half, m1 - m0 + half)


def ratio(f: VariantFigures) -> tuple[float, float]:
    """CTR and the variance of its estimate (delta method on per-customer clicks and lists)."""
    n, e, c = f.customers, f.exposures_mean, f.clicks_mean
    if n == 0 or e == 0:
        return math.nan, math.nan
    r = c / e
    variance = (f.clicks_var - 2 * r * f.clicks_exposures_cov + r * r * f.exposures_var) / (
        n * e * e
    )
    return r, max(variance, 0.0)


def ctr_interval(f: VariantFigures) -> Interval:
    r, variance = ratio(f)
    half = Z * math.sqrt(variance) if math.isfinite(variance) else math.nan
    return Interval(r, r - half, r + half)


def ctr_difference(f: VariantFigures, control: VariantFigures) -> Interval:
    (r1, v1), (r0, v0) = ratio(f), ratio(control)
    half = Z * math.sqrt(v1 + v0)
    return Interval(r1 - r0, r1 - r0 - half, r1 - r0 + half)


@dataclass(frozen=True)
class Cuped:
    """theta = pooled within-variant cov(revenue, pre-revenue) / var(pre-revenue)."""

    theta: float
    pre_mean: float  # over every exposed customer

    @classmethod
    def of(cls, figures: list[VariantFigures]) -> Cuped:
        dof = sum(f.customers - 1 for f in figures if f.customers > 1)
        customers = sum(f.customers for f in figures)
        if dof <= 0 or customers == 0:
            return cls(0.0, 0.0)
        cov = sum((f.customers - 1) * f.revenue_pre_cov for f in figures if f.customers > 1)
        var = sum((f.customers - 1) * f.pre_revenue_var for f in figures if f.customers > 1)
        pre = sum(f.customers * f.pre_revenue_mean for f in figures) / customers
        return cls(cov / var if var > 0 else 0.0, pre)

    def mean(self, f: VariantFigures) -> float:
        return f.revenue_mean - self.theta * (f.pre_revenue_mean - self.pre_mean)

    def variance(self, f: VariantFigures) -> float:
        t = self.theta
        return max(f.revenue_var - 2 * t * f.revenue_pre_cov + t * t * f.pre_revenue_var, 0.0)


@dataclass(frozen=True)
class Guardrails:
    returns_points: float  # a variant's returns rate at most this many points above control
    min_orders: int  # returns are judged once both the variant and the control have this many


def variant_report(
    f: VariantFigures, control: VariantFigures, cuped: Cuped, guardrails: Guardrails
) -> dict[str, Any]:
    """One row of the report: the variant's figures, its difference to the control (absent
    for the control itself) and its guardrails' status."""
    revenue = mean_interval(cuped.mean(f), cuped.variance(f), f.customers)
    row: dict[str, Any] = {
        "variant": f.variant,
        "exposed": f.customers,
        "exposures": f.exposures,
        "clicks": f.clicks,
        "conversions": f.converted,
        "orders": f.orders,
        "returned_orders": f.returned_orders,
        "rule_violations": f.rule_violations,
        "ctr": ctr_interval(f).as_dict(),
        "conversion": wilson(f.converted, f.customers).as_dict(),
        "revenue_per_exposed": revenue.as_dict(),
        "revenue_per_exposed_unadjusted": mean_interval(
            f.revenue_mean, f.revenue_var, f.customers
        ).as_dict(),
        "returns_rate": wilson(f.returned_orders, f.orders).as_dict(),
        "guardrails": guardrail_status(f, control, guardrails),
    }
    if f.variant != control.variant:
        row["lift_vs_control"] = lift(f, control, cuped)
    return row


def lift(f: VariantFigures, control: VariantFigures, cuped: Cuped) -> dict[str, Any]:
    """Differences to the control with their intervals; `significant` when the interval
    leaves out 0. `relative`: the difference over the control's value."""
    differences = {
        "ctr": (ctr_difference(f, control), ratio(control)[0]),
        "conversion": (
            newcombe(f.converted, f.customers, control.converted, control.customers),
            control.converted / control.customers if control.customers else math.nan,
        ),
        "revenue_per_exposed": (
            welch(
                cuped.mean(f),
                cuped.variance(f),
                f.customers,
                cuped.mean(control),
                cuped.variance(control),
                control.customers,
            ),
            cuped.mean(control),
        ),
    }
    out: dict[str, Any] = {}
    for name, (interval, base) in differences.items():
        relative = interval.value / base if base and math.isfinite(base) else None
        out[name] = {
            "difference": interval.as_dict(),
            "relative": None if relative is None else _r(relative),
            "significant": bool(math.isfinite(interval.low) and math.isfinite(interval.high))
            and not interval.contains(0.0),
        }
    return out


def guardrail_status(
    f: VariantFigures, control: VariantFigures, guardrails: Guardrails
) -> dict[str, Any]:
    """`rule_violations`: breached at the first served suggestion that broke a rule.
    `returns_rate`: breached when the variant's rate exceeds the control's by more than the
    threshold, judged once both have `min_orders` attributed orders (else `too-few-orders`)."""
    status: dict[str, Any] = {
        "rule_violations": "breached" if f.rule_violations else "ok",
    }
    if f.variant == control.variant:
        status["returns_rate"] = "control"
    elif min(f.orders, control.orders) < guardrails.min_orders:
        status["returns_rate"] = "too-few-orders"
    else:
        above = 100 * (f.returned_orders / f.orders - control.returned_orders / control.orders)
        status["returns_rate"] = "breached" if above > guardrails.returns_points else "ok"
        status["returns_points_above_control"] = round(above, 3)
    return status


def breaches(row: dict[str, Any]) -> list[str]:
    """Why a variant's row breaches its guardrails, as sentences (empty: none)."""
    found = []
    status = row["guardrails"]
    if status["rule_violations"] == "breached":
        found.append(
            f"rule violations: {row['rule_violations']} served suggestion(s) broke a rule "
            "(the guardrail allows none)"
        )
    if status.get("returns_rate") == "breached":
        found.append(
            f"returns rate {status['returns_points_above_control']} points above the control's"
        )
    return found
