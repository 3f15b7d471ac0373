"""One logging setup for every process (`glow serve` and its writer process, `glow relay`,
`glow worker`, `glow webhooks run`, the children of `glow dev cluster`, every other `glow`
command): GLOW_LOG_FORMAT=json (the default: one JSON object a line on stderr, for a log
shipper) or text (for a terminal), at GLOW_LOG_LEVEL.

A JSON line has `time`, `level`, `logger` and `message`, every field a call passes in
`extra={...}`, and `trace_id` when an OpenTelemetry span is current. Calls pass figures and
pseudonymous ids in `extra`, never personal data."""

from __future__ import annotations

import logging
import sys
from typing import Any

from configuration.settings import Settings
from configuration.trace_ids import current_trace_id

# What every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


class TraceIds(logging.Filter):
    """Stamps the current trace id on a record that has none."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            trace_id = current_trace_id()
            if trace_id is not None:
                record.trace_id = trace_id
        return True


class TextFormatter(logging.Formatter):
    """The classic line, then the `extra` fields as name=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and v is not None}
        return line + "".join(f" {k}={v}" for k, v in extra.items())


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.core import RESERVED_ATTRS
    from pythonjsonlogger.orjson import OrjsonFormatter  # 16 us a line, the stdlib's json 27

    formatter: logging.Formatter = OrjsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's message with ANSI colours
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
        json_default=_jsonable,
    )
    return formatter


def _jsonable(value: Any) -> str:
    return str(value)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """On the stderr it was made with; if that stream was closed since (a test run swaps and
    closes stderr around each test), on whatever stderr is now, so a background thread's line
    never fails on a closed file. Not on `sys.stderr` at every line: Faust's worker replaces it
    by a proxy that logs what is written to it, which would loop our lines back to us."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self.stream, "closed", False):
            now = sys.stderr if not getattr(sys.stderr, "closed", False) else sys.__stderr__
            with self.lock:  # type: ignore[union-attr]
                self.stream = now
        super().emit(record)


def configure_logging(settings: Settings) -> None:
    """Replace the root logger's handlers by one on stderr in the settings' format and level;
    uvicorn's loggers (which `glow serve` leaves unconfigured) go through it too."""
    handler = _Stderr()
    handler.setFormatter(json_formatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(TraceIds())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_log = logging.getLogger(name)
        uvicorn_log.handlers.clear()
        uvicorn_log.propagate = True
