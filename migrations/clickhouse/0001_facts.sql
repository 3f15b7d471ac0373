-- Analyst facts, projected from the event log. Every table is a ReplacingMergeTree keyed by the
-- event id (and line), so a duplicated delivery replaces itself; read with FINAL.

CREATE TABLE IF NOT EXISTS stock_movements (
    event_id String,
    line UInt16,
    position UInt64,
    recorded_at DateTime64(6, 'UTC'),
    occurred_at DateTime64(6, 'UTC'),
    channel LowCardinality(String),
    sku String,
    location LowCardinality(String),
    batch String,
    expiry Nullable(Date),
    kind LowCardinality(String),
    quantity Int64
) ENGINE = ReplacingMergeTree
ORDER BY (event_id, line);

CREATE TABLE IF NOT EXISTS sales_lines (
    event_id String,
    line UInt16,
    position UInt64,
    occurred_at DateTime64(6, 'UTC'),
    channel LowCardinality(String),
    location LowCardinality(String),
    sku String,
    batch String,
    quantity Int64,
    unit_price Decimal(18, 4),
    amount Decimal(18, 4),
    currency LowCardinality(String),
    reservation_id String
) ENGINE = ReplacingMergeTree
ORDER BY (event_id, line);

CREATE TABLE IF NOT EXISTS returns (
    event_id String,
    position UInt64,
    occurred_at DateTime64(6, 'UTC'),
    channel LowCardinality(String),
    location LowCardinality(String),
    sku String,
    batch String,
    quantity Int64,
    restocked UInt8
) ENGINE = ReplacingMergeTree
ORDER BY event_id;

CREATE TABLE IF NOT EXISTS reservation_events (
    event_id String,
    reservation_id String,
    version UInt64,
    position UInt64,
    occurred_at DateTime64(6, 'UTC'),
    kind LowCardinality(String),
    channel LowCardinality(String),
    expires_at Nullable(DateTime64(6, 'UTC')),
    units UInt64
) ENGINE = ReplacingMergeTree
ORDER BY event_id;

-- The catalog dimension as attribute values; the highest version of each attribute wins.
CREATE TABLE IF NOT EXISTS catalog_attributes (
    entity LowCardinality(String),
    code String,
    attribute String,
    value String,
    version UInt64,
    position UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (entity, code, attribute);

-- How far each consumer has projected the log into these tables.
CREATE TABLE IF NOT EXISTS projection_positions (
    consumer String,
    position UInt64
) ENGINE = ReplacingMergeTree(position)
ORDER BY consumer;

CREATE VIEW IF NOT EXISTS sku_catalog AS
SELECT
    code AS sku,
    anyIf(value, attribute = 'product_code') AS product_code,
    anyIf(value, attribute = 'price') AS price,
    anyIf(value, attribute = 'currency') AS currency,
    anyIf(value, attribute = 'discontinued') = '1' AS discontinued
FROM catalog_attributes FINAL
WHERE entity = 'sku'
GROUP BY code;
