"""ClickHouse facts through clickhouse-connect: a server over http(s)://, or chDB in-process
with a `chdb:///path` DSN (one process per path). `?database=name` picks a database."""

from __future__ import annotations

import hashlib
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import clickhouse_connect
import pyarrow as pa  # type: ignore[import-untyped]
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from projections.columnar_insert import ColumnarInsert, Encoded, RowEncoder, streamed
from projections.facts import COLUMNS, TABLES, Rows
from storage.migrations import migrations_folder

log = logging.getLogger(__name__)

SWAPPED = (*TABLES, "projection_positions")  # what a rebuild fills and exchanges

POSITION_COLUMNS = ("consumer", "position")
EncodedRows = dict[str, Encoded]  # table -> its rows as Arrow columns
FactBatches = dict[str, list[pa.RecordBatch]]  # table -> record batches of its rows

MIGRATIONS_DIRECTORY = migrations_folder("clickhouse")  # a checkout's, or the wheel's copy
RECORD_TABLE = """
CREATE TABLE IF NOT EXISTS glow_schema_migrations (
    name String, checksum String, applied_at DateTime64(6, 'UTC') DEFAULT now64(6)
) ENGINE = ReplacingMergeTree ORDER BY name
"""


def connect(url: str, database: str | None = None) -> Client:
    parts = urlsplit(url)
    name = database or parse_qs(parts.query).get("database", ["default"])[0]
    base = parts._replace(query="").geturl()
    if name != "default":
        clickhouse_connect.get_client(dsn=base).command(f"CREATE DATABASE IF NOT EXISTS `{name}`")
    return clickhouse_connect.get_client(dsn=base, database=name)


def statements(sql: str) -> list[str]:
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def apply_migrations(client: Client, directory: Path = MIGRATIONS_DIRECTORY) -> list[str]:
    """Apply the files not yet recorded in this database; each is idempotent DDL."""
    client.command(RECORD_TABLE)
    done = {
        row[0] for row in client.query("SELECT name FROM glow_schema_migrations FINAL").result_rows
    }
    applied = []
    for path in sorted(directory.glob("*.sql")):
        if path.name in done:
            continue
        for statement in statements(path.read_text()):
            client.command(statement)
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        client.insert("glow_schema_migrations", [[path.name, checksum]], ["name", "checksum"])
        applied.append(path.name)
    return applied


class ClickHouseFacts:
    """The fact tables of one database. A rebuild's shadow shares the live one's client and
    names its own database in every statement (a client costs ~20 ms to open on chDB)."""

    def __init__(
        self,
        client: Client,
        url: str,
        database: str | None = None,
        *,
        owns_client: bool = True,
        encoder: RowEncoder | None = None,
    ) -> None:
        self.client = client
        self.url = url  # without the database, to open a shadow database on the same server
        self.database: str = database or client.database or "default"
        self._owns_client = owns_client
        self._columns = ColumnarInsert(client, self.database, encoder)

    def write(self, rows: Rows, consumer: str, position: int) -> None:
        """Insert the rows, then the position: a crash in between re-inserts the same facts."""
        batches = fact_batches(self.encoder(), rows)
        self.write_batches({table: [batch] for table, batch in batches.items()}, consumer, position)

    def encoder(self) -> RowEncoder:
        """What turns rows into this database's columns (holds no connection)."""
        return self._columns.encoder()

    def write_batches(self, batches: FactBatches, consumer: str, position: int) -> None:
        """`write` of rows already made Arrow record batches: each table's go in one insert."""
        encoded = {table: streamed(found) for table, found in batches.items() if found}
        self.write_encoded(encoded, consumer, position)

    def write_encoded(self, rows: EncodedRows, consumer: str, position: int) -> None:
        for table, encoded in rows.items():
            self._columns.insert_encoded(table, encoded)
        self._columns.insert("projection_positions", POSITION_COLUMNS, [(consumer, position)])

    def position(self, consumer: str) -> int:
        result = self.client.query(
            f"SELECT max(position) FROM {self._table('projection_positions')}"  # noqa: S608
            " WHERE consumer = {c:String}",
            parameters={"c": consumer},
        )
        return int(result.result_rows[0][0] or 0)

    def rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        result = self.client.query(sql, parameters=parameters or {})
        return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]

    def table_rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of a fact table as FINAL reads it, sorted: for comparing two builds."""
        if table not in TABLES:
            raise ValueError(f"no fact table {table!r}")
        query = f"SELECT * FROM {self._table(table)} FINAL"  # noqa: S608 - a known table
        return sorted((tuple(row) for row in self.client.query(query).result_rows), key=repr)

    # --- rebuild: fill fresh tables, then exchange them with the live ones -------------------

    def shadow(self) -> ClickHouseFacts:
        """Empty copies of the tables a swap exchanges, in a database of their own (the same
        columns, so the same encoder)."""
        database = f"glow_rebuild_{secrets.token_hex(4)}"
        self.client.command(f"CREATE DATABASE `{database}`")
        shadow = ClickHouseFacts(
            self.client, self.url, database, owns_client=False, encoder=self.encoder()
        )
        for table in SWAPPED:
            self.client.command(f"CREATE TABLE {shadow._table(table)} AS {self._table(table)}")
            shadow._merges(table, "STOP")
        return shadow

    def swap_in(self, rebuilt: ClickHouseFacts) -> None:
        """Exchange the tables; merges, stopped while the shadow was filled (it would merge
        parts that later inserts make small again: ~1/3 of chDB's time in a rebuild), start
        on the tables now live."""
        for table in SWAPPED:
            self.client.command(f"EXCHANGE TABLES {self._table(table)} AND {rebuilt._table(table)}")
            self._merges(table, "START")
        self.client.command(f"DROP DATABASE `{rebuilt.database}` SYNC")

    def discard(self, rebuilt: ClickHouseFacts) -> None:
        """Drop the database of a shadow a failed rebuild left half-filled."""
        if rebuilt.database != self.database:
            self.client.command(f"DROP DATABASE IF EXISTS `{rebuilt.database}` SYNC")

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def _table(self, table: str) -> str:
        return f"`{self.database}`.`{table}`"

    def _merges(self, table: str, action: str) -> None:
        """STOP or START merges: only a speed-up, so a server that does not grant the SYSTEM
        privilege gets the rebuild without it."""
        try:
            self.client.command(f"SYSTEM {action} MERGES {self._table(table)}")
        except DatabaseError as error:
            log.warning("could not %s merges on %s (%s); going on", action, table, error)


def fact_batches(encoder: RowEncoder, rows: Rows) -> dict[str, pa.RecordBatch]:
    """Each table's rows as one record batch (the tables without rows left out)."""
    return {
        table: encoder.batch(table, COLUMNS[table], found) for table, found in rows.items() if found
    }


def open_facts(url: str, database: str | None = None) -> ClickHouseFacts:
    return ClickHouseFacts(connect(url, database), urlsplit(url)._replace(query="").geturl())
