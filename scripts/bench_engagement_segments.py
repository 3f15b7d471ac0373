"""The segment half of the engagement benchmark: an RFM segment over 1,000,000 purchase rows
of 100,000 customers, computed in chDB (projections/segments.py, the query the API runs) and
the same RFM in SQL on PostgreSQL over the same rows in tables with fitting indexes; best of a
few runs each, the answers checked equal, and the CPU each side spent (chDB: this process;
PostgreSQL: its backend, from /proc).

    .venv/bin/python scripts/bench_engagement_segments.py --quick   # last line is JSON

`measure_segments(quick)` is what scripts/bench_engagement.py imports. `--quick` runs 3 rounds
a side (5 otherwise) on the same sizes. GLOW_BENCH_DB (or --database) names the scratch
PostgreSQL database, dropped and made again.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_services import ensure_postgres, fresh_database  # noqa: E402
from projections.clickhouse_facts import apply_migrations, open_facts  # noqa: E402
from projections.segments import AsOf, rfm  # noqa: E402

CUSTOMERS, ORDERS = 100_000, 1_000_000
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
BASE_URL = os.environ.get("GLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
# Customer i (of 100,000) is c<i>; order n goes to customer n*7919 mod 100,000, placed within
# the year before AS_OF, worth a whole number of euros (float sums exact on both sides); every
# 10th customer has no analytics consent (no dimension row), every 13th withdrew it.
CH_DIMENSION = f"""
INSERT INTO customer_dimension (customer_id, version, valid_from, status, registered_at,
    registered_on, skin_type, concerns, consents, loyalty_tier)
SELECT concat('c', toString(number)), v, toDateTime64('2025-01-01 00:00:00', 6, 'UTC')
           + toIntervalDay(v), if(v = 2, 'withdrawn', 'active'),
       toDateTime64('2025-01-01 00:00:00', 6, 'UTC'), 'web', 'dry', [], ['analytics'], 'member'
FROM numbers({CUSTOMERS}) ARRAY JOIN if(number % 13 = 0, [1, 2], [1]) AS v
WHERE number % 10 != 0
"""
CH_ORDERS = f"""
INSERT INTO customer_orders (event_id, customer_id, order_id, position, placed_at, recorded_at,
    channel, units, value, currency)
SELECT concat('o', toString(number), ':1'), concat('c', toString((number * 7919) % {CUSTOMERS})),
       concat('o', toString(number)), number + 1,
       toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
           + toIntervalSecond((number * 104729) % 31536000),
       toDateTime64('2025-07-01 00:00:00', 6, 'UTC')
           + toIntervalSecond((number * 104729) % 31536000),
       'web', 1 + number % 3, toDecimal64(5 + (number * 31) % 50, 4), 'EUR'
FROM numbers({ORDERS})
"""
PG_SCHEMA = """
CREATE TABLE customer_dimension (customer_id text, version int, valid_from timestamptz,
    status text, PRIMARY KEY (customer_id, version));
CREATE TABLE customer_orders (event_id text PRIMARY KEY, customer_id text, order_id text,
    placed_at timestamptz, recorded_at timestamptz, value numeric(18, 4));
CREATE TABLE order_outcomes (event_id text PRIMARY KEY, order_id text, occurred_at timestamptz,
    kind text, amount numeric(18, 4));
"""
PG_LOAD = f"""
INSERT INTO customer_dimension
SELECT 'c' || n, v, timestamptz '2025-01-01 00:00:00+00' + v * interval '1 day',
       CASE WHEN v = 2 THEN 'withdrawn' ELSE 'active' END
FROM generate_series(0, {CUSTOMERS - 1}) AS n,
     LATERAL unnest(CASE WHEN n % 13 = 0 THEN ARRAY[1, 2] ELSE ARRAY[1] END) AS v
WHERE n % 10 != 0;
INSERT INTO customer_orders
SELECT 'o' || n || ':1', 'c' || ((n::bigint * 7919) % {CUSTOMERS}), 'o' || n, t, t,
       5 + (n::bigint * 31) % 50
FROM generate_series(0, {ORDERS - 1}) AS n,
     LATERAL (SELECT timestamptz '2025-07-01 00:00:00+00'
                     + ((n::bigint * 104729) % 31536000) * interval '1 second' AS t) AS moment;
CREATE INDEX ON customer_orders (customer_id, placed_at) INCLUDE (order_id, recorded_at, value);
CREATE INDEX ON order_outcomes (order_id);
CREATE INDEX ON customer_dimension (valid_from);
ANALYZE;
"""
PG_RFM = """
WITH members AS (
    SELECT customer_id FROM (
        SELECT DISTINCT ON (customer_id) customer_id, status FROM customer_dimension
        WHERE valid_from <= %(m)s ORDER BY customer_id, version DESC
    ) AS latest WHERE status = 'active'
),
placed AS (
    SELECT o.customer_id, o.order_id, o.placed_at, o.value
    FROM customer_orders AS o JOIN members USING (customer_id)
    WHERE o.placed_at <= %(m)s AND o.recorded_at <= %(m)s
),
outcomes AS (
    SELECT order_id, bool_or(kind IN ('cancelled', 'payment_failed')) AS cancelled,
           coalesce(sum(amount) FILTER (WHERE kind = 'return_refunded'), 0) AS refunded
    FROM order_outcomes WHERE occurred_at <= %(m)s
      AND order_id IN (SELECT order_id FROM placed) GROUP BY order_id
),
purchases AS (
    SELECT p.customer_id, p.placed_at, p.value - coalesce(o.refunded, 0) AS value
    FROM placed AS p LEFT JOIN outcomes AS o USING (order_id)
    WHERE NOT coalesce(o.cancelled, false)
),
stats AS (
    SELECT customer_id, max(placed_at) AS last_at, count(*) AS orders, sum(value) AS monetary
    FROM purchases GROUP BY customer_id
)
SELECT customer_id,
       1 + 5 * (rank() OVER (ORDER BY last_at) - 1) / count(*) OVER () AS r,
       1 + 5 * (rank() OVER (ORDER BY orders) - 1) / count(*) OVER () AS f,
       1 + 5 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER () AS m
FROM stats
"""


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _clickhouse(rounds: int) -> tuple[float, float, dict[str, tuple[int, int, int]]]:
    with tempfile.TemporaryDirectory(prefix="glow-segbench-") as folder:
        facts = open_facts(f"chdb://{folder}/analytics")
        try:
            apply_migrations(facts.client)
            facts.client.command(CH_DIMENSION)
            facts.client.command(CH_ORDERS)
            best, cpu, answer = float("inf"), 0.0, []
            for _ in range(rounds):
                started, cpu_started = time.perf_counter(), time.process_time()
                answer = rfm(facts.client, AsOf(AS_OF))
                took = time.perf_counter() - started
                if took < best:
                    best, cpu = took, time.process_time() - cpu_started
        finally:
            facts.close()
    scores = {
        r["customer_id"]: (r["recency_score"], r["frequency_score"], r["monetary_score"])
        for r in answer
    }
    return best, cpu, scores


def _postgres(rounds: int, database: str) -> tuple[float, float, dict[str, tuple[int, int, int]]]:
    ensure_postgres(BASE_URL)
    url = fresh_database(BASE_URL, database)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
        conn.execute(PG_LOAD)
        conn.execute("SET max_parallel_workers_per_gather = 2")
        pid = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        best, cpu, rows = float("inf"), 0.0, []
        for _ in range(rounds):
            started, cpu_started = time.perf_counter(), _backend_cpu(pid)
            rows = conn.execute(PG_RFM, {"m": AS_OF}).fetchall()
            took = time.perf_counter() - started
            if took < best:
                best, cpu = took, _backend_cpu(pid) - cpu_started
    return best, cpu, {str(c): (int(r), int(f), int(m)) for c, r, f, m in rows}


def measure_segments(quick: bool, database: str | None = None) -> dict[str, float]:
    rounds = 3 if quick else 5
    name = database or os.environ.get("GLOW_BENCH_DB", "glow_bench_segments")
    ch_s, ch_cpu, ch_scores = _clickhouse(rounds)
    pg_s, pg_cpu, pg_scores = _postgres(rounds, name)
    if ch_scores != pg_scores:
        differ = sum(ch_scores.get(c) != s for c, s in pg_scores.items())
        raise SystemExit(f"the RFM answers differ for {differ} of {len(pg_scores)} customers")
    return {
        "segment_s": round(ch_s, 4),
        "segment_speedup_vs_pg": round(pg_s / ch_s, 2),
        "segment_pg_s": round(pg_s, 4),
        "segment_cpu_s": round(ch_cpu, 4),
        "segment_pg_cpu_s": round(pg_cpu, 4),
        "segment_customers_scored": float(len(ch_scores)),
        "segment_orders": float(ORDERS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds a side (under 60 s)")
    parser.add_argument("--database", help="scratch PostgreSQL database (or GLOW_BENCH_DB)")
    args = parser.parse_args()
    started = time.perf_counter()
    figures = measure_segments(args.quick, args.database)
    print(
        f"RFM over {ORDERS:,} purchases, {CUSTOMERS:,} customers: chDB {figures['segment_s']} s "
        f"(CPU {figures['segment_cpu_s']} s), PostgreSQL {figures['segment_pg_s']} s (backend "
        f"CPU {figures['segment_pg_cpu_s']} s): {figures['segment_speedup_vs_pg']}x; "
        f"{time.perf_counter() - started:.1f} s in all",
        file=sys.stderr,
    )
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
