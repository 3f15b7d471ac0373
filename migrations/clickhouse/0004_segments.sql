-- Segments: purchases per customer from the ledger, the customer dimension (only customers
-- whose `analytics` consent is granted), and the dimension follower's position.
-- projections/customer_order_facts.py, projections/customer_dimension.py, projections/segments.py.

-- One row per order placed for a known customer (Order.Placed names them by their
-- pseudonymous id); anonymous orders give none. `recorded_at` is when the ledger recorded it,
-- so an audience computed as of a moment reads only what was known then.
CREATE TABLE IF NOT EXISTS customer_orders (
    event_id String,
    customer_id String,
    order_id String,
    position UInt64,
    placed_at DateTime64(6, 'UTC'),
    recorded_at DateTime64(6, 'UTC'),
    channel LowCardinality(String),
    units UInt64,
    value Decimal(18, 4),
    currency LowCardinality(String)
) ENGINE = ReplacingMergeTree
ORDER BY (customer_id, event_id);

-- A version of a consenting customer's analytic facts per customer event, valid from the
-- moment the ledger recorded that event. `status` is `active`, or a tombstone (`withdrawn`:
-- the analytics consent was withdrawn; `merged`) from which on they are in no segment.
-- Forgetting a customer deletes every row of theirs (projections/segment_erasure.py).
CREATE TABLE IF NOT EXISTS customer_dimension (
    customer_id String,
    version UInt64,
    valid_from DateTime64(6, 'UTC'),
    status LowCardinality(String),
    registered_at DateTime64(6, 'UTC'),
    registered_on LowCardinality(String),
    skin_type LowCardinality(String),
    concerns Array(String),
    consents Array(String),
    loyalty_tier LowCardinality(String)
) ENGINE = ReplacingMergeTree
ORDER BY (customer_id, version);

-- How far the dimension follower has read the customer ledger's log.
CREATE TABLE IF NOT EXISTS segment_positions (
    consumer String,
    position UInt64,
    recorded_at DateTime64(6, 'UTC') DEFAULT now64(6)
) ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY consumer;
