-- The first answer given to each Idempotency-Key, written in the same transaction as the
-- command's events (see service_layer/recorders.py). Not events: they are not business facts,
-- and old keys can be purged without touching the immutable log.
CREATE TABLE IF NOT EXISTS public.glow_command_answers (
    idempotency_key text PRIMARY KEY,
    fingerprint text NOT NULL,
    status integer NOT NULL,
    response bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS glow_command_answers_recorded_at_idx
    ON public.glow_command_answers (recorded_at);
