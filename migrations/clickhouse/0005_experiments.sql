-- A/B experiments (service_layer/experiment_desk.py, projections/experiment_metrics.py):
-- every list shown to a customer assigned to a variant, and the link from a customer id to
-- the pseudonym the rows carry. Written through the behaviour path (the API's buffer into
-- chDB, or the `behaviour` topic and the worker). Forgetting a customer deletes their link
-- and their rows (projections/experiment_erasure.py); their key shredded, the pseudonym in
-- any copy names nobody. Read with FINAL: a batch written twice replaces itself.

-- One list shown: which experiment and variant, to whom (the behaviour pseudonym,
-- privacy/pseudonyms.behaviour_person), what was served, and how many of the served
-- suggestions broke a rule when the list was audited again, apart from the ranker.
CREATE TABLE IF NOT EXISTS experiment_exposures (
    exposure_id UUID,
    experiment_id String,
    variant LowCardinality(String),
    person String,
    products Array(String),
    list_kind LowCardinality(String),
    rule_violations UInt16,
    at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (experiment_id, person, exposure_id);

-- The one link from a customer id to the pseudonym of their exposure rows: the join from the
-- order facts (customer_orders names the customer id) to the exposures.
CREATE TABLE IF NOT EXISTS experiment_people (
    customer_id String,
    person String,
    linked_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY customer_id;

-- Per experiment, variant and exposed customer: when they were first shown a list (the start
-- of their attribution window), how many lists, and how many served suggestions broke a rule.
-- The dashboard's and the report's starting point.
CREATE VIEW IF NOT EXISTS experiment_exposed AS
SELECT
    experiment_id,
    variant,
    person,
    min(at) AS first_at,
    count() AS exposures,
    sum(rule_violations) AS rule_violations
FROM experiment_exposures FINAL
GROUP BY experiment_id, variant, person;
