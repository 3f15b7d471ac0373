-- Each run of `glow verify` (a full recomputation of the audit hash chain) and what it found,
-- so that an operator's scheduled verification reaches the metrics and alerts: the API's
-- /metrics reads the latest result and counts the failed ones. Kept small: one row a run.

CREATE TABLE IF NOT EXISTS "public"."audit_verifications" (
    id bigserial PRIMARY KEY,
    verified_at timestamptz NOT NULL DEFAULT now(),
    intact boolean NOT NULL,
    chain_head bigint NOT NULL,
    log_head bigint NOT NULL,
    rows_checked bigint NOT NULL,
    discrepancy_position bigint,
    problem text
);
