"""Request bodies of the segment routes: an audience definition (checked further, trait by
trait, by projections/audience_definitions.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.models import Body


class ConditionIn(Body):
    trait: str = Field(
        min_length=1, max_length=64, description="recency_score, orders, skin_type, ..."
    )
    op: str = Field(min_length=1, max_length=16, description="=, !=, <, <=, >, >=, in, ...")
    value: Any = Field(description="a value of the trait's type (a list for in, contains_any)")


class AudienceIn(Body):
    name: str = Field(min_length=1, max_length=64, description="lower-case letters, digits, - _")
    purpose: str = Field(description="the consent purpose an export needs: marketing_email, ...")
    conditions: list[ConditionIn] = Field(
        min_length=1, max_length=20, description="all must hold for a member"
    )
