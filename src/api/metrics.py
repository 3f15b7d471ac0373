"""Prometheus metrics for operators."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

COMMAND_LATENCY = Histogram(
    "glow_command_seconds",
    "Time from a command's submission to its answer",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
REFUSALS = Counter("glow_refusals_total", "Commands refused, by problem type", ["problem"])
