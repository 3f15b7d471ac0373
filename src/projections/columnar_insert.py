"""Fact rows into ClickHouse as columns, the cheap way for a bulk of rows.

clickhouse-connect asks the server for a table's column types on every insert and turns each
datetime into ticks in Python. Here the insert context of each (table, columns) is built once
and reused, datetimes become ticks in one subtraction each, and the rows go in as columns.
LowCardinality columns are sent as their plain type, which the server converts (building their
dictionaries in Python cost more than the rest of the column work). `optimize_on_insert` is
off: it only merges rows with equal keys inside one insert, which a ReplacingMergeTree read
with FINAL does anyway (a rebuild measured ~1.4x faster inserts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from clickhouse_connect.datatypes.base import ClickHouseType
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.insert import InsertContext

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
SETTINGS = {"optimize_on_insert": 0}


class ColumnarInsert:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._contexts: dict[tuple[str, tuple[str, ...]], InsertContext] = {}

    def insert(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert dict rows that all have the keys of the first row."""
        names = tuple(rows[0])
        context = self._context(table, names)
        pick = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        columns: list[Sequence[Any]] = list(zip(*map(pick, rows), strict=True))  # in C
        for i, kind in enumerate(context.column_types):
            precision = getattr(kind, "prec", None)
            if kind.base_type == "DateTime64" and precision is not None:
                columns[i] = _ticks(columns[i], precision)
        context.data = columns
        try:
            self.client.insert(context=context)
        finally:
            context.data = None

    def _context(self, table: str, names: tuple[str, ...]) -> InsertContext:
        key = (table, names)
        context = self._contexts.get(key)
        if context is None:
            context = self.client.create_insert_context(
                table, list(names), column_oriented=True, settings=SETTINGS
            )
            context.column_types = [_unwrapped(kind) for kind in context.column_types]
            self._contexts[key] = context
        return context


def _unwrapped(kind: ClickHouseType) -> ClickHouseType:
    """LowCardinality(T) as T."""
    prefix = "LowCardinality("
    return get_from_name(kind.name[len(prefix) : -1]) if kind.name.startswith(prefix) else kind


def _ticks(column: Sequence[Any], precision: int) -> Sequence[Any]:
    """Aware datetimes as ticks of the column's precision; a column with anything else (a
    naive datetime, a string) is left for clickhouse-connect to convert."""
    try:
        micros = [None if v is None else (v - EPOCH) // MICROSECOND for v in column]
    except TypeError:
        return column
    if precision == 10**6:
        return micros
    return [None if v is None else v * precision // 10**6 for v in micros]
