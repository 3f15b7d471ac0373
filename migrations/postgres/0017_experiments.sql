-- A/B experiments on the recommendations (domain/experiment.py, the "experiments" application):
-- definitions, stops and each customer's assignment, as events, in a store of their own so
-- that they never mix with stock or customer events. An assignment's originator_id is made of
-- the experiment and the customer's behaviour pseudonym (keyed by the customer's data key):
-- the primary key makes a second first request for the same customer a conflict, not a second
-- assignment, and once the customer is forgotten (their key shredded) nobody can tell whose it
-- was. No personal data in any event; no snapshots (the histories are short).

CREATE TABLE IF NOT EXISTS "public"."experiments_events" (
    originator_id "uuid" NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
);

CREATE UNIQUE INDEX IF NOT EXISTS "experiments_events_notification_id_idx"
    ON "public"."experiments_events" (notification_id ASC);
