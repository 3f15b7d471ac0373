"""Every declared query parameter of every GET route takes any text without failing: it gives a
value of its type within its range, or a 422 problem naming the parameter."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from api.problems import ApiProblem
from api.query_parameters import BIGINT_MAX, FIRST_DAY, LAST_DAY, Parameter
from api.route_tables import QUERY_PARAMETERS

DECLARED = sorted(
    {
        (path, parameter.name): parameter
        for path, ps in QUERY_PARAMETERS.items()
        for parameter in ps
    }.items()
)


def request_with(name: str, raw: str) -> Request:
    return Request({"type": "http", "query_string": urlencode({name: raw}).encode(), "headers": []})


def read(parameter: Parameter[Any], raw: str) -> Any:
    return parameter.read(request_with(parameter.name, raw))


def within_range(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value < BIGINT_MAX
    if isinstance(value, float):
        return -180 <= value <= 180
    if isinstance(value, datetime):
        return FIRST_DAY.year <= value.year <= LAST_DAY.year and value.tzinfo is not None
    if isinstance(value, date):
        return FIRST_DAY <= value <= LAST_DAY
    if isinstance(value, list):
        return all(isinstance(item, str) and item.isascii() for item in value)
    return isinstance(value, str)


NASTY = [
    "²", "¹²", "١٢", "٣", "inf", "-inf", "nan", "Infinity", "1e309", "-1", "1_000",
    str(2**63 - 1), str(2**63), "9" * 40, "0001-01-01", "9999-12-31", "2026-02-30",
    "2026-01-01T00:00:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59", " ", ",", ",,,", "\x00", "x" * 500, "A B", "é",
]  # fmt: skip


@pytest.mark.parametrize("where,parameter", DECLARED, ids=[f"{p} {n}" for (p, n), _ in DECLARED])
def test_a_nasty_value_is_a_value_in_range_or_a_422(
    where: tuple[str, str], parameter: Parameter[Any]
) -> None:
    for raw in NASTY:
        try:
            value = read(parameter, raw)
        except ApiProblem as problem:
            assert problem.status == 422 and problem.extra["parameter"] == parameter.name
            assert parameter.name in problem.detail and "expected" in problem.detail
            continue
        assert value is None or within_range(value), (where, raw, value)


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=60), index=st.integers(min_value=0, max_value=len(DECLARED) - 1))
def test_any_text_is_a_value_in_range_or_a_422(raw: str, index: int) -> None:
    parameter = DECLARED[index][1]
    try:
        value = read(parameter, raw)
    except ApiProblem as problem:
        assert problem.status == 422
        return
    assert value is None or within_range(value), (parameter.name, raw, value)


def test_the_values_the_probe_sent_are_refused() -> None:
    by_name = dict(DECLARED)
    refused = [
        (("/analytics/daily-sales", "to"), "0001-01-01"),
        (("/analytics/turnover", "from"), "0001-01-01"),
        (("/analytics/expiring-batches", "days"), "-1"),
        (("/availability/{sku}/nearest", "lat"), "inf"),
        (("/availability/{sku}/nearest", "lon"), "-inf"),
        (("/audit/export", "after"), "²"),
        (("/audit/export", "after"), str(2**63 - 1)),
        (("/customers/{customer_id}/recommendations", "limit"), "²"),
    ]
    for key, raw in refused:
        with pytest.raises(ApiProblem) as refusal:
            read(by_name[key], raw)
        assert refusal.value.status == 422, (key, raw)


def test_no_route_reads_query_parameters_but_through_a_declared_parameter() -> None:
    """access.py compares a named location with the token's as text, before parsing."""
    from pathlib import Path

    api = Path(__file__).resolve().parents[2] / "src" / "api"
    readers = [path.name for path in api.glob("*.py") if "query_params" in path.read_text()]
    assert sorted(readers) == ["access.py", "query_parameters.py"]
