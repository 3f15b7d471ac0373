-- Which log positions are a customer's purchases and returns (service_layer/purchase_index.py),
-- so a data-subject export reads the customer's few events instead of scanning the log. Kept by
-- a follower of the log, never by the command path: the position says how far it has read.
-- A purchase through a reservation names the customer only in the reservation's events, so the
-- reservations that named one are kept too.

CREATE TABLE IF NOT EXISTS glow_customer_purchases (
    customer_id text NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (customer_id, position)
);

CREATE TABLE IF NOT EXISTS glow_customer_reservations (
    reservation_id text PRIMARY KEY,
    customer_id text NOT NULL
);

CREATE TABLE IF NOT EXISTS glow_purchase_index (
    name text PRIMARY KEY,
    position bigint NOT NULL
);
