-- Event store of the "inventory" application, exactly as eventsourcing 9.5.6 creates it
-- (PostgresApplicationRecorder for inventory_events, the aggregate recorder for
-- inventory_snapshots), so the application runs with CREATE_TABLE=n.
-- Left out on purpose: the es_insert_events_uuid function, which the library creates
-- even when POSTGRES_ENABLE_DB_FUNCTIONS is off; we never enable it.

CREATE TABLE IF NOT EXISTS "public"."inventory_events" (
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

CREATE UNIQUE INDEX IF NOT EXISTS "inventory_events_notification_id_idx"
    ON "public"."inventory_events" (notification_id ASC);

CREATE TABLE IF NOT EXISTS "public"."inventory_snapshots" (
    originator_id "uuid" NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

-- The recorders insert through unnest(%s::stored_event_uuid[]); one type serves both tables.
DO $$
BEGIN
    CREATE TYPE "public"."stored_event_uuid" AS (
        originator_id "uuid",
        originator_version bigint,
        topic text,
        state bytea
    );
EXCEPTION
    WHEN duplicate_object THEN NULL;
END
$$;
