"""Audience definitions: a purpose and conditions on the traits of projections/segments.py,
all of which a member meets, compiled to a parameterised ClickHouse filter. The caller never
writes SQL: each condition names a trait from `TRAITS`, an operator that trait allows and a
value of its type; anything else is a `DefinitionError` saying what was wrong and what is
expected. The compiled text holds only column names and operators from this module, and every
value travels as a query parameter.

A definition in its stored form (`canonical`) is what its version means: the same canonical
definition and the same as-of moment always select the same members."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain.channel_rules import CHANNELS
from domain.customer import LOYALTY_TIERS
from domain.customer_rules import PURPOSES, SKIN_CONCERNS, SKIN_TYPES

MAX_CONDITIONS = 20
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PRODUCT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99}$")
NUMERIC_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
CHOICE_OPS = ("=", "!=", "in", "not_in")
SET_OPS = ("contains", "contains_any", "contains_all")


class DefinitionError(ValueError):
    """An audience definition that cannot be compiled; the message says why."""


@dataclass(frozen=True)
class Trait:
    kind: str  # "score", "count", "number", "flag", "choice", "set", "code"
    column: str
    choices: tuple[str, ...] = ()

    def ops(self) -> tuple[str, ...]:
        if self.kind in ("score", "count", "number"):
            return tuple(NUMERIC_OPS)
        if self.kind == "flag":
            return ("=",)
        if self.kind == "set":
            return SET_OPS
        return CHOICE_OPS


TRAITS: dict[str, Trait] = {
    "recency_score": Trait("score", "recency_score"),
    "frequency_score": Trait("score", "frequency_score"),
    "monetary_score": Trait("score", "monetary_score"),
    "orders": Trait("count", "orders"),
    "lifetime_value": Trait("number", "lifetime_value"),
    "average_order_value": Trait("number", "average_order_value"),
    "days_since_last_order": Trait("number", "days_since_last_order"),
    "churn_risk": Trait("flag", "churn_risk"),
    "skin_type": Trait("choice", "skin_type", SKIN_TYPES),
    "concerns": Trait("set", "concerns", SKIN_CONCERNS),
    "loyalty_tier": Trait("choice", "loyalty_tier", LOYALTY_TIERS),
    "registered_on": Trait("choice", "registered_on", tuple(CHANNELS)),
    "favourite_product": Trait("code", "favourite_product"),
}


@dataclass(frozen=True)
class Compiled:
    where: str
    parameters: dict[str, Any]


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise DefinitionError(
            f"audience name {name!r} is not valid; expected 1 to 64 of lower-case letters, "
            "digits, - and _, starting with a letter or digit"
        )
    return name


def check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise DefinitionError(f"unknown purpose {purpose!r}; expected one of {', '.join(PURPOSES)}")
    return purpose


def canonical(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conditions checked and in their stored form (values normalised, order kept)."""
    if not isinstance(conditions, list) or not conditions:
        raise DefinitionError("an audience needs at least one condition")
    if len(conditions) > MAX_CONDITIONS:
        raise DefinitionError(
            f"an audience has at most {MAX_CONDITIONS} conditions, got {len(conditions)}"
        )
    return [_condition(i, c) for i, c in enumerate(conditions)]


def _condition(index: int, condition: Any) -> dict[str, Any]:
    where = f"condition {index + 1}"
    if not isinstance(condition, dict) or set(condition) != {"trait", "op", "value"}:
        raise DefinitionError(f"{where}: expected an object with exactly trait, op and value")
    name, op, value = condition["trait"], condition["op"], condition["value"]
    trait = TRAITS.get(name) if isinstance(name, str) else None
    if trait is None:
        raise DefinitionError(
            f"{where}: unknown trait {name!r}; expected one of {', '.join(TRAITS)}"
        )
    if op not in trait.ops():
        raise DefinitionError(
            f"{where}: trait {name} takes the operators {', '.join(trait.ops())}, not {op!r}"
        )
    return {"trait": name, "op": op, "value": _value(where, name, trait, op, value)}


def _value(where: str, name: str, trait: Trait, op: str, value: Any) -> Any:
    if trait.kind in ("score", "count"):
        low, high = (1, 5) if trait.kind == "score" else (0, 1_000_000)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise DefinitionError(f"{where}: {name} compares with a whole number {low} to {high}")
        return value
    if trait.kind == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (0 <= value <= 1e12)
        ):
            raise DefinitionError(f"{where}: {name} compares with a number 0 to 1e12")
        return float(value)
    if trait.kind == "flag":
        if not isinstance(value, bool):
            raise DefinitionError(f"{where}: {name} compares with true or false")
        return value
    many = op in ("in", "not_in", "contains_any", "contains_all")
    values = value if many else [value]
    if not isinstance(values, list) or not values or len(values) > 100:
        expected = "a list of 1 to 100 values" if many else "one value"
        raise DefinitionError(f"{where}: {name} {op} takes {expected}")
    for one in values:
        allowed = (
            one in trait.choices
            if trait.choices
            else (isinstance(one, str) and PRODUCT_CODE.match(one) is not None)
        )
        if not isinstance(one, str) or not allowed:
            expected = ", ".join(trait.choices) if trait.choices else "a product code"
            raise DefinitionError(f"{where}: {one!r} is not a {name}; expected {expected}")
    return sorted(set(values)) if many else values[0]


def compile_conditions(conditions: list[dict[str, Any]]) -> Compiled:
    """`conditions` (canonical) as one filter over the profiles, with named parameters."""
    clauses, parameters = [], {}
    for i, condition in enumerate(canonical(conditions)):
        trait, op, value = TRAITS[condition["trait"]], condition["op"], condition["value"]
        p, column = f"c{i}", trait.column
        if trait.kind in ("score", "count"):
            clauses.append(f"{column} {NUMERIC_OPS[op]} {{{p}:Int64}}")
        elif trait.kind == "number":
            clauses.append(f"{column} {NUMERIC_OPS[op]} {{{p}:Float64}}")
        elif trait.kind == "flag":
            clauses.append(f"{column} = {{{p}:Bool}}")
        elif trait.kind == "set":
            function = {"contains": "has", "contains_any": "hasAny", "contains_all": "hasAll"}
            kind = "String" if op == "contains" else "Array(String)"
            clauses.append(f"{function[op]}({column}, {{{p}:{kind}}})")
        elif op in ("in", "not_in"):
            negation = "NOT " if op == "not_in" else ""
            clauses.append(f"ifNull({column}, '') {negation}IN {{{p}:Array(String)}}")
        else:
            clauses.append(f"ifNull({column}, '') {op} {{{p}:String}}")
        parameters[p] = value
    return Compiled(" AND ".join(f"({clause})" for clause in clauses), parameters)
