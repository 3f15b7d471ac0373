"""The trace id a log line names: whatever the process's tracing says is current, None while
tracing is off. The tracing layer (telemetry/tracing.py) sets the source when it starts and
clears it when it stops, so nothing of OpenTelemetry is imported, or asked, while it is off."""

from __future__ import annotations

from collections.abc import Callable

TraceIdSource = Callable[[], "str | None"]
_source: TraceIdSource | None = None


def use_trace_ids(source: TraceIdSource | None) -> None:
    """Name the active span's trace id in log lines from now on (None: no more)."""
    global _source
    _source = source


def current_trace_id() -> str | None:
    source = _source
    return None if source is None else source()
