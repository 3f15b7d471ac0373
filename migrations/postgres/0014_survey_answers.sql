-- Survey answers that arrive by signed webhook (api/survey_routes.py, storage/survey_tallies.py).
--
-- An answer for a customer becomes a customer event (Customer.SurveyAnswered, the answer sealed)
-- and its webhook-id is its idempotency key in glow_command_answers. An anonymous answer keeps
-- only counts: per survey, question and option code (a choice), or scale value; a text answer
-- is counted under '' and its text is never stored. Each anonymous delivery's webhook-id is
-- kept with the fingerprint of its body, in the same transaction as its counts, so a delivery
-- sent again counts once.

CREATE TABLE IF NOT EXISTS "public"."survey_deliveries" (
    source text NOT NULL,  -- the survey tool, as configured in GLOW_SURVEY_WEBHOOK_SECRETS
    webhook_id text NOT NULL,
    fingerprint text NOT NULL,  -- keyed HMAC of the body: another body under the id is a 409
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, webhook_id)
);
-- `glow retention apply` deletes the old ones oldest first (storage/retention_tables.py).
CREATE INDEX IF NOT EXISTS survey_deliveries_received_at
    ON "public"."survey_deliveries" (received_at);


CREATE TABLE IF NOT EXISTS "public"."survey_answer_counts" (
    source text NOT NULL,
    survey_id text NOT NULL,
    question_id text NOT NULL,
    answer_kind text NOT NULL,  -- choice | scale | text
    answer text NOT NULL,  -- an option code, a scale value, or '' for a text answer (not kept)
    answers bigint NOT NULL,
    PRIMARY KEY (source, survey_id, question_id, answer_kind, answer)
);
