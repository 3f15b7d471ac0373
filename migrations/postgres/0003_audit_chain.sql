-- Tamper evidence for auditors: a hash chain over the stored rows of inventory_events, kept by
-- the chain follower (`glow chain`), and checkpoints of its head that can be exported and signed.
-- link(position) = sha256(link(previous position) || canonical bytes of the stored row), where
-- position is the row's notification_id; see src/audit/chain_links.py for the exact bytes.

CREATE TABLE IF NOT EXISTS "public"."audit_chain" (
    position bigint PRIMARY KEY,
    link bytea NOT NULL
);

CREATE TABLE IF NOT EXISTS "public"."audit_checkpoints" (
    head bigint PRIMARY KEY,
    link bytea NOT NULL,
    created_at timestamptz NOT NULL,
    signature text NULL
);
