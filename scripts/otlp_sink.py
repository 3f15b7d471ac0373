"""A tiny OTLP/HTTP sink for benchmarks: a local HTTP server (a thread per connection: each
process keeps one open), in a process of its own (so it
takes no interpreter lock from the load client), that accepts every POST /v1/traces, counts
the requests and their bytes, and answers 200 with an empty ExportTraceServiceResponse (an
empty protobuf message is zero bytes). Spans are exported for real, over HTTP, and dropped."""

from __future__ import annotations

import multiprocessing
import socket
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.sharedctypes import Synchronized
from typing import Any


def _serve(listener: socket.socket, requests: Synchronized[int], size: Synchronized[int]) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's session expects

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with requests.get_lock():
                requests.value += 1
            with size.get_lock():
                size.value += len(body)
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.serve_forever()


class OtlpSink:
    def __init__(self, stack: ExitStack) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        context = multiprocessing.get_context("fork")
        self.requests = context.Value("q", 0)
        self.bytes = context.Value("q", 0)
        process = context.Process(
            target=_serve, args=(listener, self.requests, self.bytes), daemon=True
        )
        process.start()
        listener.close()
        stack.callback(process.kill)
