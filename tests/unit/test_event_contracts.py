"""Published events keep their committed JSON Schema contracts."""

from __future__ import annotations

from decimal import Decimal

import jsonschema
import orjson
import pytest
import shop
from busy_day import busy_day

from domain.stock import Stock
from events.contracts import (
    committed_contracts,
    contract_name,
    current_contracts,
    event_schema,
    incompatibilities,
)
from events.envelope import Envelope
from events.published import PUBLISHED_EVENTS


def test_every_published_event_type_has_a_committed_contract() -> None:
    assert set(committed_contracts()) == {contract_name(name) for name in PUBLISHED_EVENTS}


def test_the_code_matches_its_committed_contracts() -> None:
    """Run `glow contracts --write` after a compatible change to commit the new contracts."""
    assert incompatibilities(committed_contracts(), current_contracts()) == []
    assert committed_contracts() == current_contracts()


def test_every_envelope_of_a_busy_day_is_valid_under_its_contract() -> None:
    contracts = committed_contracts()
    log = busy_day()
    assert {e.type for e in log.envelopes} >= {"Stock.Sold", "Stock.TransferredIn", "Sku.Repriced"}
    for envelope in log.envelopes:
        document = orjson.loads(envelope.to_json())
        schema = contracts[contract_name(envelope.type)]
        jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


def test_an_envelope_carries_the_aggregate_id_and_version_as_its_event_id() -> None:
    sold = next(e for e in busy_day().envelopes if e.type == "Stock.Sold")
    assert sold.event_id == f"{sold.aggregate_id}:{sold.version}"
    assert sold.subject == {"sku": shop.RED, "location": shop.WAREHOUSE}
    assert Envelope.from_json(sold.to_json()) == sold


def test_no_envelope_carries_the_principal_who_may_be_a_person() -> None:
    for envelope in busy_day().envelopes:
        assert b"tester" not in envelope.to_json()


class SoldWithFloatPrice(Stock.Sold):
    unit_price: float  # type: ignore[assignment]


class SoldWithTaxRate(Stock.Sold):
    tax_rate: Decimal


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        (SoldWithFloatPrice, "$.payload.unit_price changed"),
        (SoldWithTaxRate, "$.payload.tax_rate is new and required"),
    ],
)
def test_the_check_fails_on_an_incompatible_change_to_an_event(changed, problem) -> None:
    name = contract_name("Stock.Sold")
    current = {**current_contracts(), name: event_schema("Stock.Sold", changed)}
    found = incompatibilities(committed_contracts(), current)
    assert any(problem in line for line in found), found


def test_the_check_fails_when_a_field_is_removed() -> None:
    name = contract_name("Stock.Sold")
    schema = current_contracts()[name]
    del schema["properties"]["payload"]["properties"]["currency"]
    schema["properties"]["payload"]["required"].remove("currency")
    found = incompatibilities(committed_contracts(), {**current_contracts(), name: schema})
    assert found == [f"{name}: $.payload.currency was removed"]


def test_the_check_fails_when_an_event_type_disappears() -> None:
    current = current_contracts()
    del current[contract_name("Stock.Sold")]
    assert incompatibilities(committed_contracts(), current) == [
        "Stock.Sold.v1.json: the event type or its schema version is gone"
    ]


def test_a_new_optional_field_is_compatible() -> None:
    name = contract_name("Stock.Sold")
    schema = current_contracts()[name]
    schema["properties"]["payload"]["properties"]["tax_rate"] = {"type": "string"}
    assert incompatibilities(committed_contracts(), {**current_contracts(), name: schema}) == []
