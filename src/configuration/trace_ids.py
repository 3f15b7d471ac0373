"""The trace id of the OpenTelemetry span current in this context, for log lines: None when
OpenTelemetry is not installed or no span is recording. Imported once, on first use."""

from __future__ import annotations

import importlib
from typing import Any

_trace: Any = None
_looked = False


def current_trace_id() -> str | None:
    global _trace, _looked
    if not _looked:
        _looked = True
        try:
            _trace = importlib.import_module("opentelemetry.trace")
        except ImportError:
            _trace = None
    if _trace is None:
        return None
    context = _trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
