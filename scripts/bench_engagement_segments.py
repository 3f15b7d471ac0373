"""The segment half of the engagement benchmark: an RFM segment over 1,000,000 purchase rows
of 100,000 customers, computed in chDB (projections/segments.py, the queries the API runs) and
the same RFM in SQL on PostgreSQL over the same rows in tables with fitting indexes; best of a
few runs each, the answers checked equal, and the CPU each side spent (chDB: this process;
PostgreSQL: its backend, from /proc).

`segment_s` is the segment as `GET /segments/rfm` answers it: every customer scored, then the
customers and revenue of each RFM cell (nothing per customer leaves the database).
`segment_scores_s` is `?detail=customers`: every buying customer's scores fetched into Python
(83,077 rows), which both sides pay for in their client.

    .venv/bin/python scripts/bench_engagement_segments.py --quick   # last line is JSON

`measure_segments(quick)` is what scripts/bench_engagement.py imports. `--quick` runs 2 rounds
a side (5 otherwise) on the same sizes. GLOW_BENCH_DB (or --database) names the scratch
PostgreSQL database, dropped and made again.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_services import ensure_postgres, fresh_database  # noqa: E402
from projections.clickhouse_facts import apply_migrations, open_facts  # noqa: E402
from projections.segments import AsOf, rfm, rfm_cells  # noqa: E402

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
    FROM order_outcomes WHERE occurred_at <= %(m)s GROUP BY order_id
),
purchases AS (
    SELECT p.customer_id, p.placed_at, p.value - coalesce(o.refunded, 0) AS value
    FROM placed AS p LEFT JOIN outcomes AS o USING (order_id)
    WHERE NOT coalesce(o.cancelled, false)
),
stats AS (
    SELECT customer_id, max(placed_at) AS last_at, count(*) AS orders, sum(value) AS monetary
    FROM purchases GROUP BY customer_id
),
scores AS (
    SELECT customer_id, monetary,
           1 + 5 * (rank() OVER (ORDER BY last_at) - 1) / count(*) OVER () AS r,
           1 + 5 * (rank() OVER (ORDER BY orders) - 1) / count(*) OVER () AS f,
           1 + 5 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER () AS m
    FROM stats
)
"""
PG_SCORES = PG_RFM + "SELECT customer_id, r, f, m FROM scores"
# The segment as a whole, as GET /segments/rfm answers it: customers and revenue per cell.
PG_CELLS = (
    PG_RFM
    + """SELECT r, f, m, count(*), round(sum(monetary), 4) FROM scores
GROUP BY r, f, m ORDER BY r, f, m"""
)


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Timed = tuple[float, float]  # best wall seconds, and the CPU that run spent
Cells = list[tuple[int, int, int, int, float]]
Scores = dict[str, tuple[int, int, int]]


def _best(rounds: int, run: Callable[[], object], cpu: Callable[[], float]) -> tuple[Timed, object]:
    best, spent, answer = float("inf"), 0.0, None
    for _ in range(rounds):
        started, cpu_started = time.perf_counter(), cpu()
        answer = run()
        took = time.perf_counter() - started
        if took < best:
            best, spent = took, cpu() - cpu_started
    return (best, spent), answer


def _clickhouse(rounds: int) -> tuple[Timed, Timed, Cells, Scores]:
    with tempfile.TemporaryDirectory(prefix="glow-segbench-") as folder:
        facts = open_facts(f"chdb://{folder}/analytics")
        try:
            apply_migrations(facts.client)
            facts.client.command(CH_DIMENSION)
            facts.client.command(CH_ORDERS)
            as_of = AsOf(AS_OF)
            cells_timed, cells = _best(
                rounds, lambda: rfm_cells(facts.client, as_of), time.process_time
            )
            scores_timed, scores = _best(
                rounds, lambda: rfm(facts.client, as_of), time.process_time
            )
        finally:
            facts.close()
    assert isinstance(cells, list) and isinstance(scores, list)
    return (
        cells_timed,
        scores_timed,
        [
            (
                c["recency_score"],
                c["frequency_score"],
                c["monetary_score"],
                c["customers"],
                float(c["revenue"]),
            )
            for c in cells
        ],
        {
            r["customer_id"]: (r["recency_score"], r["frequency_score"], r["monetary_score"])
            for r in scores
        },
    )


def _postgres(rounds: int, database: str) -> tuple[Timed, Timed, Cells, Scores]:
    ensure_postgres(BASE_URL)
    url = fresh_database(BASE_URL, database)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
        conn.execute(PG_LOAD)
        conn.execute("SET max_parallel_workers_per_gather = 2")
        pid = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]

        def backend_cpu() -> float:
            return _backend_cpu(pid)

        cells_timed, cells = _best(
            rounds, lambda: conn.execute(PG_CELLS, {"m": AS_OF}).fetchall(), backend_cpu
        )
        scores_timed, scores = _best(
            rounds, lambda: conn.execute(PG_SCORES, {"m": AS_OF}).fetchall(), backend_cpu
        )
    assert isinstance(cells, list) and isinstance(scores, list)
    return (
        cells_timed,
        scores_timed,
        [(int(r), int(f), int(m), int(n), float(v)) for r, f, m, n, v in cells],
        {str(c): (int(r), int(f), int(m)) for c, r, f, m in scores},
    )


def measure_segments(quick: bool, database: str | None = None) -> dict[str, float]:
    rounds = 2 if quick else 5
    name = database or os.environ.get("GLOW_BENCH_DB", "glow_bench_segments")
    ch_cells, ch_scores_timed, ch_answer, ch_scores = _clickhouse(rounds)
    pg_cells, pg_scores_timed, pg_answer, pg_scores = _postgres(rounds, name)
    if ch_scores != pg_scores:
        differ = sum(ch_scores.get(c) != s for c, s in pg_scores.items())
        raise SystemExit(f"the RFM answers differ for {differ} of {len(pg_scores)} customers")
    if ch_answer != pg_answer:
        raise SystemExit(f"the RFM cells differ: {ch_answer[:3]} ... against {pg_answer[:3]} ...")
    return {
        "segment_s": round(ch_cells[0], 4),
        "segment_speedup_vs_pg": round(pg_cells[0] / ch_cells[0], 2),
        "segment_pg_s": round(pg_cells[0], 4),
        "segment_cpu_s": round(ch_cells[1], 4),
        "segment_pg_cpu_s": round(pg_cells[1], 4),
        "segment_scores_s": round(ch_scores_timed[0], 4),
        "segment_scores_speedup_vs_pg": round(pg_scores_timed[0] / ch_scores_timed[0], 2),
        "segment_scores_pg_s": round(pg_scores_timed[0], 4),
        "segment_customers_scored": float(len(ch_scores)),
        "segment_orders": float(ORDERS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds a side (under 60 s)")
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
