-- The customer ledger's event store ("customers" application, same shape as inventory_events),
-- the vault of per-customer data keys, and the log of every access to personal data.
-- No customers_snapshots table: customers are never snapshotted (a snapshot would keep
-- personal data readable after the customer's key is destroyed).

CREATE TABLE IF NOT EXISTS "public"."customers_events" (
    originator_id "uuid" NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

CREATE UNIQUE INDEX IF NOT EXISTS "customers_events_notification_id_idx"
    ON "public"."customers_events" (notification_id ASC);

-- One data key per customer (AES-256), wrapped (AES-GCM) by the master key named in
-- master_key_id. Deleting the row crypto-shreds the customer's personal data.
CREATE TABLE IF NOT EXISTS customer_keys (
    customer_id uuid PRIMARY KEY,
    master_key_id text NOT NULL,
    wrapped_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    rewrapped_at timestamptz
);

-- Who read or changed whose personal data, when, how and why. Never holds the data itself.
CREATE TABLE IF NOT EXISTS pii_access_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    principal text NOT NULL,
    role text NOT NULL,
    channel text,
    customer_id uuid,
    action text NOT NULL,
    reason text
);

CREATE INDEX IF NOT EXISTS pii_access_log_customer_idx ON pii_access_log (customer_id, at);
