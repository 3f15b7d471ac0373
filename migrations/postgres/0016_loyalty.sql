-- Loyalty points (service_layer/loyalty_follower.py): the follower that turns settled orders
-- and refunded returns of the inventory log into customer commands.
--
-- Positions: how far in the inventory log the follower has sent its commands. Each command
-- carries an idempotency key made of the event's id, so a page sent again after a crash
-- earns nothing twice.
--
-- Refusals: events whose command the customer ledger refused (a forgotten or unknown
-- customer): the follower records them here and goes on. A row names the event, its order and
-- the refusal's code, never the customer.
--
-- Expiries: which customers have a lot of points whose last day is a given date, so the
-- daily expiry step visits only them. The id is the customer's pseudonymous id; forgetting
-- the customer deletes their rows.

CREATE TABLE IF NOT EXISTS "public"."loyalty_positions" (
    name text PRIMARY KEY,
    position bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS "public"."loyalty_refusals" (
    event_id text PRIMARY KEY,
    position bigint NOT NULL,
    event_type text NOT NULL,
    order_id text NOT NULL,
    code text NOT NULL,  -- the refusal's problem code, e.g. customer-forgotten
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS "public"."loyalty_expiries" (
    customer_id uuid NOT NULL,
    expires_on date NOT NULL,  -- the last day of a lot; it expires the day after
    PRIMARY KEY (expires_on, customer_id)
);
