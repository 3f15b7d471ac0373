-- Audiences (service_layer/segment_desk.py, storage/audience_book.py): saved definitions,
-- versioned (a new definition under a known name is its next version; a version never
-- changes), and a record of every computation: which version, as of which moment, how many
-- members and a digest of their sorted ids, so an audit can compute it again and compare.
-- Definitions hold conditions on traits (projections/audience_definitions.py), never SQL,
-- and computations hold no customer id.

CREATE TABLE IF NOT EXISTS "public"."segment_audiences" (
    name text NOT NULL,
    version integer NOT NULL,
    purpose text NOT NULL,  -- the consent purpose an export needs (domain/customer_rules.py)
    conditions jsonb NOT NULL,
    created_by text NOT NULL,  -- the token's subject
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

CREATE TABLE IF NOT EXISTS "public"."segment_audience_computations" (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    version integer NOT NULL,
    as_of timestamptz NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    computed_by text NOT NULL,
    members integer NOT NULL,
    members_digest text NOT NULL,  -- sha256 of the sorted member ids, one a line
    FOREIGN KEY (name, version) REFERENCES "public"."segment_audiences" (name, version)
);
CREATE INDEX IF NOT EXISTS segment_audience_computations_by_name
    ON "public"."segment_audience_computations" (name, version, as_of);
