"""Fact rows become Arrow columns of the types ClickHouse reads without loss."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from projections.columnar_insert import RowEncoder, arrow_type


@pytest.mark.parametrize(
    ("clickhouse", "arrow"),
    [
        ("String", pa.string()),
        ("LowCardinality(String)", pa.string()),
        ("UInt16", pa.uint16()),
        ("Nullable(Date)", pa.date32()),
        ("DateTime64(6, 'UTC')", pa.timestamp("us", tz="UTC")),
        ("Nullable(DateTime64(3))", pa.timestamp("ms", tz="UTC")),
        ("Decimal(18, 4)", pa.decimal128(18, 4)),
    ],
)
def test_each_clickhouse_type_has_its_arrow_type(clickhouse: str, arrow: pa.DataType) -> None:
    assert arrow_type(clickhouse) == arrow


def test_a_type_without_an_arrow_counterpart_is_refused() -> None:
    with pytest.raises(ValueError, match="Map"):
        arrow_type("Map(String, UInt64)")


ENCODER = RowEncoder(
    {
        "sales": {
            "at": pa.timestamp("us", tz="UTC"),
            "day": pa.date32(),
            "price": pa.decimal128(18, 4),
            "sku": pa.string(),
        }
    }
)


def row(n: int) -> dict[str, object]:
    return {
        "sku": f"SKU-{n}",
        "at": datetime(2026, 1, 1, 12, n, tzinfo=UTC),
        "day": date(2026, 1, n + 1),
        "price": Decimal("9.9") * n,
    }


NAMES = ("sku", "at", "day", "price")


def read(data: bytes) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = pa.ipc.open_stream(data).read_all().to_pylist()
    return rows


def test_rows_round_trip_through_their_arrow_columns() -> None:
    names, data = ENCODER.encode("sales", NAMES, [tuple(row(n).values()) for n in (1, 2)])
    assert names == ("sku", "at", "day", "price")
    assert read(data) == [row(1), row(2)]


def test_a_decimal_finer_than_its_column_is_rounded_not_refused() -> None:
    fine = {**row(1), "price": Decimal("9.12345")}
    tie = {**row(2), "price": Decimal("0.00005")}
    _, data = ENCODER.encode("sales", NAMES, [tuple(r.values()) for r in (fine, tie, row(3))])
    assert [r["price"] for r in read(data)] == [
        Decimal("9.1234"),
        Decimal("0.0000"),
        row(3)["price"],
    ]
