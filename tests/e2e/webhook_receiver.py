"""A real webhook receiver for tests: an HTTP server in a thread that records every request
(headers and body) and answers as its script says: 200, an error status, or a hang longer
than the dispatcher's timeout. Receivers dedupe on `webhook-id`, as the spec asks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

OK, FAIL, HANG = "ok", "fail", "hang"
Script = Callable[[int], str]  # the request's number (from 0) -> how to answer


def always(answer: str) -> Script:
    return lambda _: answer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: str
    at: float  # time.time() when it arrived

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    script: Script
    hang_seconds: float = 2.0
    requests: list[Received] = field(default_factory=list)
    hanging: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            how = self.script(len(self.requests))
            self.requests.append(Received(headers, body, how, time.time()))
        if how == HANG:
            with self.lock:
                self.hanging += 1
            time.sleep(self.hang_seconds)
            with self.lock:
                self.hanging -= 1
            return 200
        return 200 if how == OK else 500

    def accepted(self) -> list[Received]:
        """Requests answered 2xx in time, first of each webhook-id: what a receiver keeps."""
        seen: set[str] = set()
        kept = []
        with self.lock:
            requests = list(self.requests)
        for request in requests:
            if request.answered == OK and request.message_id not in seen:
                seen.add(request.message_id)
                kept.append(request)
        return kept

    def wait_for(self, count: int, seconds: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.accepted()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{len(self.accepted())} deliveries accepted, waited for {count}")


@contextmanager
def receiving(script: Script, hang_seconds: float = 2.0) -> Iterator[Receiver]:
    receiver = Receiver(script, hang_seconds)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.answer({k.lower(): v for k, v in self.headers.items()}, body)
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:  # the dispatcher gave up waiting and closed the connection
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
