-- Behaviour (POST /track): telemetry, not ledger facts, so it lives here and not in the event
-- store. `person` is the behaviour pseudonym of an identified customer who consents to
-- analytics (privacy/pseudonyms.behaviour_person: unlinkable once their key is shredded);
-- without consent an event only counts in behaviour_aggregates. Read behaviour_events FINAL:
-- a message sent twice (same message id, so the same event_id) replaces itself.

CREATE TABLE IF NOT EXISTS behaviour_events (
    event_id UUID,
    occurred_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    event LowCardinality(String),
    channel LowCardinality(String),
    person String,
    anonymous_id String,
    sku String,
    properties String,
    violation LowCardinality(String)
) ENGINE = ReplacingMergeTree
ORDER BY event_id;

-- The one link from a customer id to their behaviour pseudonym, written once per customer.
CREATE TABLE IF NOT EXISTS behaviour_people (
    customer_id String,
    person String,
    linked_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY customer_id;

-- The identity graph: an anonymous id stitched to a person at login (one person per anonymous
-- id, the first; at most GLOW_TRACK_MAX_ANONYMOUS_IDS anonymous ids per person).
CREATE TABLE IF NOT EXISTS behaviour_identities (
    anonymous_id String,
    person String,
    linked_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY anonymous_id;

-- Anonymous counts: every accepted event, identified or not; nothing links them to anyone.
CREATE TABLE IF NOT EXISTS behaviour_aggregates (
    day Date,
    event LowCardinality(String),
    channel LowCardinality(String),
    sku String,
    events UInt64
) ENGINE = SummingMergeTree(events)
ORDER BY (day, event, channel, sku);

-- Tracking plan violations counted per day, event name, kind and property (never a value).
CREATE TABLE IF NOT EXISTS tracking_violations (
    day Date,
    event String,
    kind LowCardinality(String),
    property String,
    outcome LowCardinality(String),
    events UInt64
) ENGINE = SummingMergeTree(events)
ORDER BY (day, event, kind, property, outcome);

-- An event's person, through the identity graph when it was recorded under an anonymous id only.
CREATE VIEW IF NOT EXISTS behaviour_attributed AS
SELECT
    e.event_id AS event_id,
    e.occurred_at AS occurred_at,
    e.event AS event,
    e.channel AS channel,
    if(e.person != '', e.person, i.person) AS person,
    e.anonymous_id AS anonymous_id,
    e.sku AS sku,
    e.properties AS properties
FROM behaviour_events AS e FINAL
LEFT JOIN (SELECT anonymous_id, any(person) AS person FROM behaviour_identities FINAL GROUP BY anonymous_id) AS i
    ON e.anonymous_id = i.anonymous_id AND e.anonymous_id != '';

-- Stitches the identity graph refused (another person's device, a person's limit reached).
CREATE TABLE IF NOT EXISTS behaviour_stitch_refusals (
    day Date,
    reason LowCardinality(String),
    events UInt64
) ENGINE = SummingMergeTree(events)
ORDER BY (day, reason);
