"""`/health/live`, `/health/ready` and `/metrics` on a port of their own, for a process that
serves no HTTP of its own but must be probed (`glow writer`): a Kubernetes readiness probe
then means "takes commands", not "the process exists". The standard library's threading
HTTP server in a daemon thread; answers as the API's (`{"status": ...}`, or a 503
application/problem+json `not-ready` whose `reasons` name each part, never an address)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from configuration.settings import Settings, SettingsError

Reasons = Callable[[], list[str]]


def serve_health(settings: Settings, process: str, not_ready: Reasons) -> ThreadingHTTPServer:
    """Serve on GLOW_METRICS_ADDRESS:GLOW_METRICS_PORT (a SettingsError if it is unset or
    cannot be taken: a probed process must be probeable)."""
    if settings.metrics_port is None:
        raise SettingsError(
            f"`glow {process}` serves its probes and metrics on GLOW_METRICS_PORT: set it "
            "(e.g. 9100)"
        )
    address, port = settings.metrics_address, settings.metrics_port

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            elif path == "/health/live":
                self._answer(200, "application/json", orjson.dumps({"status": "live"}))
            elif path == "/health/ready":
                reasons = not_ready()
                if reasons:
                    self._problem(503, "not-ready", "Not ready", "; ".join(reasons), reasons)
                else:
                    self._answer(200, "application/json", orjson.dumps({"status": "ready"}))
            else:
                detail = f"no route {path}: this port serves /health/live, /health/ready, /metrics"
                self._problem(404, "no-such-route", "Not found", detail)

        def _problem(
            self, status: int, code: str, title: str, detail: str, reasons: list[str] | None = None
        ) -> None:
            body: dict[str, object] = {
                "type": f"/problems/{code}",
                "title": title,
                "status": status,
                "detail": detail,
            }
            if reasons is not None:
                body["reasons"] = reasons
            self._answer(status, "application/problem+json", orjson.dumps(body))

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # probes every few seconds: not worth a line each

    try:
        server = ThreadingHTTPServer((address, port), Handler)
    except OSError as error:
        raise SettingsError(
            f"cannot serve probes and metrics on {address}:{port} (GLOW_METRICS_ADDRESS, "
            f"GLOW_METRICS_PORT): {error.strerror or error}; choose a free port"
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"{process}-health", daemon=True).start()
    print(f"glow: {process} probes and metrics at http://{address}:{port}", file=sys.stderr)
    return server
