-- Demand forecasting and replenishment (issue 20). Read with FINAL: a batch written twice
-- replaces itself.

-- Demand the ledger refused for lack of stock (a 409 insufficient-stock or cannot-source):
-- recorded as `UnmetDemand.Recorded` events by the writer (domain/unmet_demand.py) and projected
-- here by the facts projection. `asked` is the quantity the command asked for, `available` what
-- the ledger could give then, `short` = asked - available (the units the customer could not
-- have). `location` is '' when no location could be named (an order no location could source).
CREATE TABLE IF NOT EXISTS unmet_demand (
    event_id String,
    position UInt64,
    occurred_at DateTime64(6, 'UTC'),
    channel LowCardinality(String),
    sku String,
    location LowCardinality(String),
    asked Int64,
    available Int64,
    short Int64,
    reason LowCardinality(String),
    command LowCardinality(String)
) ENGINE = ReplacingMergeTree
ORDER BY event_id;

-- One forecasting run (`glow forecast run`): when, on data up to which day, how many series.
CREATE TABLE IF NOT EXISTS forecast_runs (
    run_id String,
    made_at DateTime64(3, 'UTC'),
    history_to Date,
    horizon UInt16,
    series UInt32,
    seconds Float64,
    censored UInt8
) ENGINE = ReplacingMergeTree
ORDER BY run_id;

-- Each series' chosen model and its backtest error in a run, and its forecast day by day:
-- the mean and the quantiles of that day's demand (q50 ... q99), all in units.
CREATE TABLE IF NOT EXISTS forecasts (
    run_id String,
    made_at DateTime64(3, 'UTC'),
    sku String,
    location LowCardinality(String),
    model LowCardinality(String),
    mase Float64,
    mase_naive Float64,
    daily_rmse Float64,
    day Date,
    mean Float64,
    q50 Float64,
    q80 Float64,
    q90 Float64,
    q95 Float64,
    q99 Float64
) ENGINE = ReplacingMergeTree
ORDER BY (sku, location, run_id, day);
