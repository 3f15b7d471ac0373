-- Orders and their fulfilment orders, projected from the Order events (projections/order_facts.py).
-- ReplacingMergeTree keyed by the event id (and line), as the other facts; read with FINAL.

CREATE TABLE IF NOT EXISTS orders (
    event_id String,
    order_id String,
    position UInt64,
    placed_at DateTime64(6, 'UTC'),
    channel LowCardinality(String),
    delivery LowCardinality(String),
    pickup_store LowCardinality(String),
    lines UInt32,
    items UInt64,
    amount Decimal(18, 4),
    currency LowCardinality(String)
) ENGINE = ReplacingMergeTree
ORDER BY event_id;

CREATE TABLE IF NOT EXISTS order_lines (
    event_id String,
    line UInt16,
    order_id String,
    position UInt64,
    occurred_at DateTime64(6, 'UTC'),
    kind LowCardinality(String),
    line_id String,
    sku String,
    quantity UInt64,
    unit_price Decimal(18, 4)
) ENGINE = ReplacingMergeTree
ORDER BY (event_id, line);

-- A fulfilment order's rows: `open` (sourced: location, method, units), then one per state it
-- reaches; `reduced` rows carry minus the units a partial cancellation took out.
CREATE TABLE IF NOT EXISTS fulfilments (
    event_id String,
    line UInt16,
    order_id String,
    fulfilment_id String,
    position UInt64,
    occurred_at DateTime64(6, 'UTC'),
    state LowCardinality(String),
    location LowCardinality(String),
    method LowCardinality(String),
    units Int64
) ENGINE = ReplacingMergeTree
ORDER BY (event_id, line);

CREATE TABLE IF NOT EXISTS order_outcomes (
    event_id String,
    order_id String,
    position UInt64,
    occurred_at DateTime64(6, 'UTC'),
    channel LowCardinality(String),
    kind LowCardinality(String),
    rma_id String,
    location LowCardinality(String),
    items Nullable(UInt64),
    amount Nullable(Decimal(18, 4))
) ENGINE = ReplacingMergeTree
ORDER BY event_id;

-- Each location's kind (warehouse, store, fulfilment_centre), from Location.Registered.
CREATE VIEW IF NOT EXISTS location_catalog AS
SELECT code AS location, anyIf(value, attribute = 'kind') AS kind
FROM catalog_attributes FINAL
WHERE entity = 'location'
GROUP BY code;
