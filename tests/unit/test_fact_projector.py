"""The fact projector gives one row per fact, keyed so that a duplicate replaces itself."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import shop
from busy_day import busy_day
from event_log import ShopLog
from test_hot_view_projector import redelivered_late

from domain.ids import stock_id
from domain.stock import Stock
from events.envelope import Envelope
from projections.facts import KEYS, as_dicts, batch_rows


def replaced(envelopes: list[Envelope]) -> dict[str, dict[tuple, dict]]:
    """What a ReplacingMergeTree read with FINAL returns: the highest version per key."""
    tables: dict[str, dict[tuple, dict]] = {}
    for table, rows in as_dicts(batch_rows(envelopes)).items():
        kept: dict[tuple, dict] = {}
        for row in rows:
            key = tuple(row[column] for column in KEYS[table])
            if key not in kept or row.get("version", 0) >= kept[key].get("version", 0):
                kept[key] = row
        tables[table] = kept
    return tables


def test_movements_add_up_to_what_each_stock_has_on_hand() -> None:
    assert_movements_add_up_to_on_hand(busy_day())


def assert_movements_add_up_to_on_hand(log: ShopLog) -> None:
    on_hand: dict[tuple[str, str], int] = defaultdict(int)
    for row in replaced(log.envelopes)["stock_movements"].values():
        on_hand[row["sku"], row["location"]] += row["quantity"]
    for (sku, where), quantity in on_hand.items():
        stock = log.uow.get(stock_id(sku, where))
        assert isinstance(stock, Stock)
        assert quantity == stock.summary(shop.TODAY)["on_hand"]


def test_sales_lines_carry_channel_location_sku_batch_quantity_and_price() -> None:
    sales = list(replaced(busy_day().envelopes)["sales_lines"].values())
    assert sum(row["quantity"] for row in sales) == 3  # two confirmed, one at the till
    till = next(row for row in sales if row["reservation_id"] == "")
    assert (till["channel"], till["location"], till["sku"], till["batch"]) == (
        "test",
        shop.WAREHOUSE,
        shop.RED,
        "B1",
    )
    assert till["unit_price"] == Decimal("12.50") and till["amount"] == Decimal("12.50")


def test_returns_record_whether_the_item_went_back_on_the_shelf() -> None:
    returns = replaced(busy_day().envelopes)["returns"].values()
    assert sorted(row["restocked"] for row in returns) == [0, 1]


def test_reservation_events_tell_each_reservations_fate() -> None:
    rows = replaced(busy_day().envelopes)["reservation_events"].values()
    assert sorted(row["kind"] for row in rows) == [
        "confirmed",
        "placed",
        "placed",
        "placed",
        "released",
    ]
    assert sum(row["units"] for row in rows if row["kind"] == "placed") == 4


def test_the_catalog_keeps_the_latest_value_of_each_attribute() -> None:
    attributes = replaced(busy_day().envelopes)["catalog_attributes"]
    assert attributes[("sku", shop.NUDE, "price")]["value"] == "13.00"
    assert attributes[("sku", shop.RED, "product_code")]["value"] == "LIP"
    assert attributes[("product", "LIP", "brand")]["value"] == "Glow"


def test_a_clean_log_gives_each_key_once() -> None:
    for table, rows in as_dicts(batch_rows(busy_day().envelopes)).items():
        if table != "catalog_attributes":
            keys = [tuple(row[c] for c in KEYS[table]) for row in rows]
            assert len(keys) == len(set(keys)), table


def test_duplicates_and_late_redeliveries_leave_the_same_facts() -> None:
    log = busy_day()
    doubled = [e for envelope in log.envelopes for e in (envelope, envelope)]
    assert replaced(doubled) == replaced(log.envelopes)
    assert replaced(redelivered_late(log.envelopes)) == replaced(log.envelopes)
