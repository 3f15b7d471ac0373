-- Outbound webhooks and marketplace feeds (service_layer/webhook_*.py, marketplace_feed.py).
--
-- Subscriptions: who wants which event types (optionally only those of some channels), at
-- which URL. The signing secret is sealed with the master key (AES-256-GCM, bound to the
-- subscription id): shown once when the subscription is made, never readable back.
--
-- Deliveries: the outbox. The webhook follower derives them from the committed event log,
-- page by page, inserting a page's deliveries and its position in one transaction; a
-- delivery's message id is a function of the subscription and the event, so a page derived
-- twice adds nothing. The dispatcher sends the oldest pending delivery of each (subscription,
-- ordering key) only, so deliveries of one aggregate arrive in log order; after
-- `max attempts` a delivery is dead (a dead letter) until someone replays it.
--
-- Feed: per marketplace channel and SKU, the log position of the last change that may move
-- its available-to-sell, and what was last published, so publications are coalesced.

CREATE TABLE IF NOT EXISTS "public"."webhook_subscriptions" (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    event_types text[] NOT NULL,
    channels text[],  -- NULL: events of every channel
    from_position bigint NOT NULL,  -- the log's head when it was made: it hears what follows
    secret_key_id text NOT NULL,  -- the master key that sealed the secret
    secret_sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz
);

CREATE TABLE IF NOT EXISTS "public"."webhook_deliveries" (
    id bigserial PRIMARY KEY,  -- log order within an ordering key
    message_id text NOT NULL,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
    event_type text NOT NULL,
    ordering_key text NOT NULL,
    body bytea NOT NULL,
    recorded_at timestamptz NOT NULL,  -- when the ledger committed what it reports
    status text NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    delivered_at timestamptz,
    UNIQUE (subscription_id, message_id)
);

CREATE INDEX IF NOT EXISTS webhook_deliveries_pending
    ON webhook_deliveries (subscription_id, ordering_key, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_dead
    ON webhook_deliveries (subscription_id, id) WHERE status = 'dead';

CREATE TABLE IF NOT EXISTS "public"."webhook_positions" (
    name text PRIMARY KEY,
    position bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS "public"."marketplace_feed" (
    channel text NOT NULL,
    sku text NOT NULL,
    changed_position bigint NOT NULL,  -- the last event that may move its availability
    flushed_position bigint NOT NULL DEFAULT 0,  -- changes up to here are published
    published_units integer,
    published_at timestamptz,
    PRIMARY KEY (channel, sku)
);

CREATE INDEX IF NOT EXISTS marketplace_feed_changed
    ON marketplace_feed (published_at) WHERE changed_position > flushed_position;
