"""Published events keep their committed JSON Schema contracts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import jsonschema
import orjson
import pytest
import shop
from event_log import ShopLog

from domain import commands as c
from domain.stock import Stock
from streams.contracts import (
    committed_contracts,
    contract_name,
    current_contracts,
    event_schema,
    incompatibilities,
)
from streams.envelope import Envelope
from streams.published import PUBLISHED_EVENTS


def busy_day() -> ShopLog:
    """One of every kind of stock, reservation and catalog event."""
    log = ShopLog()
    log.run(shop.lipstick(), shop.location(shop.WAREHOUSE), shop.location(shop.STORE))
    log.run(shop.receive(quantity=10), shop.receive(batch="B2", expiry=shop.LATEST, quantity=5))
    kept, dropped = shop.reserve(shop.line(2)), shop.reserve(shop.line(1))
    log.run(kept, shop.confirm(kept.reservation_id), dropped)
    log.run(c.ReleaseReservation(dropped.reservation_id, shop.trace()))
    log.run(shop.sell(shop.line(1)))
    log.run(c.AcceptReturn(shop.RED, shop.WAREHOUSE, "B1", None, 1, True, shop.trace()))
    log.run(c.AdjustStock(shop.RED, shop.WAREHOUSE, "B2", -1, None, shop.trace()))
    log.run(c.TransferStock(uuid4(), shop.RED, shop.WAREHOUSE, shop.STORE, 2, shop.trace()))
    log.run(c.QuarantineBatch(shop.RED, shop.WAREHOUSE, "B2", shop.trace()))
    log.run(c.LiftQuarantine(shop.RED, shop.WAREHOUSE, "B2", shop.trace()))
    log.run(c.RecallBatch(shop.RED, "B2", shop.trace()))
    log.run(c.RepriceSku(shop.NUDE, Decimal("13.00"), "EUR", shop.trace()))
    log.run(
        c.ExpectShipment(shop.NUDE, shop.STORE, "ASN-1", 4, shop.TODAY + timedelta(3), shop.trace())
    )
    return log


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
