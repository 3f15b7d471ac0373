-- Positions in the notification log of the processes that carry it to the read side: the relay
-- (the last position the broker acknowledged) and the stream workers (the position up to which
-- every event is applied to their read models). The relay re-publishes from the lowest worker
-- position when the broker comes back empty; `glow lag` reads them all.

CREATE TABLE IF NOT EXISTS "public"."stream_positions" (
    name text PRIMARY KEY,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
