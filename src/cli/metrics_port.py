"""`/metrics` on a port of its own, for the processes that serve no HTTP (`glow relay`,
`glow worker`, `glow webhooks run`, `glow rebuild`): prometheus_client's server in a thread,
on GLOW_METRICS_ADDRESS:GLOW_METRICS_PORT, off when GLOW_METRICS_PORT is unset. It serves
this process's registry: the metrics its loops update, and the collectors given here, read at
each scrape (the log's head for the lag)."""

from __future__ import annotations

import sys

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.registry import Collector

from configuration.settings import Settings, SettingsError


def serve_metrics(settings: Settings, process: str, *collectors: Collector) -> bool:
    """Start the port if one is set; True if it was. A port that cannot be taken is a
    SettingsError naming it (the process refuses to start rather than run unobserved)."""
    if settings.metrics_port is None:
        return False
    for collector in collectors:
        REGISTRY.register(collector)
    address, port = settings.metrics_address, settings.metrics_port
    try:
        start_http_server(port, address)
    except OSError as error:
        raise SettingsError(
            f"cannot serve metrics on {address}:{port} (GLOW_METRICS_ADDRESS, GLOW_METRICS_PORT): "
            f"{error.strerror or error}; choose a free port, or unset GLOW_METRICS_PORT"
        ) from None
    print(f"glow: {process} metrics at http://{address}:{port}/metrics", file=sys.stderr)
    return True
