"""Demand forecasting: demand history per SKU x location x day (censored demand counted),
classical models chosen per series by backtest, horizons with quantiles."""
