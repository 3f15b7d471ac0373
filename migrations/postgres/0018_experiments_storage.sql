-- The experiments' event store with the storage options eventsourcing gives every event table
-- it creates (0017 left them out): autovacuum that leaves an append-only table alone until
-- half of it changed, and keeps its statistics fresh.

ALTER TABLE "public"."experiments_events" SET (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
