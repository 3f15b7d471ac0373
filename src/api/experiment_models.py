"""Request bodies of the experiment routes (checked further by domain/experiment.py's rules and
by the desk, which knows the model versions and the ranking policies)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from api.models import Body


class VariantIn(Body):
    name: str = Field(min_length=1, max_length=40, description="lower-case letters, digits, - _")
    weight: int = Field(ge=1, le=100, description="percent of the traffic; the weights sum to 100")
    model: str | None = Field(
        None, description="a challenger: a saved model version vNNNN (its candidates published)"
    )
    policy: str | None = Field(
        None,
        description="a ranking policy of the serving model: standard, no-promotions, no-session, "
        "popular-for-skin-type",
    )

    @model_validator(mode="after")
    def one_target(self) -> VariantIn:
        if (self.model is None) == (self.policy is None):
            raise ValueError(
                f"variant {self.name!r} needs exactly one of model (a version vNNNN) or policy "
                "(a ranking policy's name)"
            )
        return self


class GuardrailsIn(Body):
    returns_points: float = Field(
        2.0, ge=0, le=100, description="a variant's returns rate at most this many points above"
    )
    returns_min_orders: int = Field(
        30, ge=1, le=100_000, description="returns are judged once variant and control have this"
    )


class ExperimentIn(Body):
    name: str = Field(min_length=1, max_length=100)
    hypothesis: str = Field(min_length=1, max_length=2000)
    variants: list[VariantIn] = Field(min_length=2, max_length=6)
    control: str | None = Field(None, description="the control variant's name; default the first")
    primary_metric: Literal["conversion", "revenue_per_exposed", "ctr"] = "conversion"
    attribution_days: int = Field(7, ge=1, le=90, description="the window after first exposure")
    guardrails: GuardrailsIn = Field(default_factory=GuardrailsIn)
    starts_at: AwareDatetime | None = Field(None, description="default now")
    ends_at: AwareDatetime

    def start(self, now: datetime) -> datetime:
        return self.starts_at or now


class StopIn(Body):
    reason: str = Field(min_length=1, max_length=500, description="why, kept with the event")
    variant: str | None = Field(
        None, description="stop this variant only (its customers get the control from now on)"
    )
