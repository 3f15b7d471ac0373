"""Assignment to an experiment's variants: a pure function of (experiment, customer), the same
in another Python process, shares that follow the weights, and definitions refused with every
problem named."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.experiment import (
    Definition,
    Experiment,
    ExperimentDefinitionError,
    ExperimentStateError,
    Variant,
    bucket,
    variant_for,
)

EXPERIMENT = UUID("3f1e9a52-61a4-4a8e-9a0c-2b7d5c1e0f11")
CUSTOMERS = [str(uuid5(EXPERIMENT, f"customer {n}")) for n in range(1000)]
VARIANTS = [Variant("control", 50, "policy", "standard"), Variant("b", 30, "policy", "no-session"),
            Variant("c", 20, "model", "v0002")]  # fmt: skip
NOW = datetime(2026, 5, 1, tzinfo=UTC)

ANOTHER_PROCESS = """
import json, sys
from uuid import UUID
from domain.experiment import Variant, bucket, variant_for
experiment, variants, customers = json.load(sys.stdin)
variants = [Variant(**v) for v in variants]
print(json.dumps([variant_for(variants, bucket(UUID(experiment), c)).name for c in customers]))
"""


def assigned(customers: list[str]) -> list[str]:
    return [variant_for(VARIANTS, bucket(EXPERIMENT, c)).name for c in customers]


def test_another_python_process_assigns_the_same_1000_customers_alike() -> None:
    source = Path(__file__).resolve().parents[3] / "src"
    answer = subprocess.run(
        [sys.executable, "-c", ANOTHER_PROCESS],
        input=json.dumps([str(EXPERIMENT), [v.__dict__ for v in VARIANTS], CUSTOMERS]),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(source), "PYTHONHASHSEED": "12345"},  # hash() would differ
    )
    there = json.loads(answer.stdout)
    assert there == assigned(CUSTOMERS)
    assert set(there) == {"control", "b", "c"}


def test_the_shares_follow_the_weights_and_experiments_are_independent() -> None:
    many = [str(uuid5(EXPERIMENT, f"many {n}")) for n in range(20_000)]
    here = assigned(many)
    for variant in VARIANTS:
        assert abs(here.count(variant.name) / len(many) - variant.weight / 100) < 0.015
    other = UUID("8c0f7f55-1d2b-4bb4-8f43-6d2a0ab9f0c2")
    there = [variant_for(VARIANTS, bucket(other, c)).name for c in many]
    same = sum(a == b for a, b in zip(here, there, strict=True)) / len(many)
    assert abs(same - (0.5**2 + 0.3**2 + 0.2**2)) < 0.02  # as if drawn independently


@settings(max_examples=200)
@given(
    weights=st.lists(st.integers(1, 100), min_size=2, max_size=6).filter(lambda w: sum(w) <= 100),
    point=st.floats(0, 1, exclude_max=True),
)
def test_every_point_falls_in_exactly_the_variant_whose_share_holds_it(
    weights: list[int], point: float
) -> None:
    weights[-1] += 100 - sum(weights)
    variants = [Variant(f"v{n}", w, "policy", "standard") for n, w in enumerate(weights)]
    chosen = variant_for(variants, point)
    index = variants.index(chosen)
    assert sum(weights[:index]) / 100 <= point + 1e-12
    assert point < sum(weights[: index + 1]) / 100 or index == len(variants) - 1


def definition(**changes: object) -> Definition:
    fields: dict[str, object] = {
        "name": "challenger v0002",
        "hypothesis": "the retrained model converts better",
        "variants": tuple(VARIANTS),
        "control": "control",
        "primary_metric": "conversion",
        "attribution_days": 7,
        "returns_points": 2.0,
        "returns_min_orders": 30,
        "starts_at": NOW,
        "ends_at": NOW + timedelta(days=14),
    }
    return Definition(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"variants": (VARIANTS[0], VARIANTS[1])}, "weights sum to 80; expected 100"),
        ({"control": "d"}, "control: 'd' is not one of the variants"),
        ({"variants": (VARIANTS[0],)}, "variants: expected 2 to 6, got 1"),
        ({"primary_metric": "sales"}, "primary_metric: 'sales'"),
        ({"attribution_days": 0}, "attribution_days: expected 1 to 90"),
        ({"ends_at": NOW - timedelta(days=1)}, "ends_at: expected after starts_at"),
        (
            {
                "variants": (
                    Variant("control", 50, "policy", "standard"),
                    Variant("B!", 50, "model", "latest"),
                )
            },
            "model 'latest'; expected vNNNN",
        ),
    ],
)
def test_a_definition_breaking_a_rule_is_refused_naming_it(
    changes: dict[str, object], said: str
) -> None:
    with pytest.raises(ExperimentDefinitionError) as refused:
        Experiment.define(definition(**changes), "admin", NOW - timedelta(hours=1))
    assert said in refused.value.message


def test_a_stopped_variant_is_served_the_control_and_cannot_be_stopped_twice() -> None:
    experiment = Experiment.define(definition(), "admin", NOW)
    later = NOW + timedelta(days=1)
    assert experiment.serves("b") == "b" and experiment.status(later) == "running"
    experiment.stop_variant("b", "guardrail: returns", "guard", later)
    assert experiment.serves("b") == "control" and experiment.serves("c") == "c"
    with pytest.raises(ExperimentStateError, match="already stopped"):
        experiment.stop_variant("b", "again", "guard", later)
    with pytest.raises(ExperimentStateError, match="is the control"):
        experiment.stop_variant("control", "no", "guard", later)
    experiment.stop("done", "admin", later)
    assert experiment.status(later) == "stopped" and not experiment.running(later)
