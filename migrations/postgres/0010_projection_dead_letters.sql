-- Events a consumer of the log could not apply to one of its sinks (the hot views, the facts,
-- the relay's topics): set aside so that the consumer keeps going, listed for operators
-- (/health, glow lag, /metrics, glow dead-letters list) and retried after a fix (glow
-- dead-letters retry asks; the process that owns the sink retries and records the outcome).
-- A row names the event (position, id, type) and the error, never the payload. One row per
-- sink and position: the same event failing again updates its row.

CREATE TABLE IF NOT EXISTS "public"."projection_dead_letters" (
    sink text NOT NULL,
    position bigint NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    error text NOT NULL,
    message text NOT NULL,
    attempts integer NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    retry_requested_at timestamptz,
    PRIMARY KEY (sink, position)
);
