"""Event log to read models: relay, Faust worker, embedded driver, rebuilds, dead letters."""
