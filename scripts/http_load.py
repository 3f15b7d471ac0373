"""A lean asyncio HTTP/1.1 keep-alive client for benchmarks: no client library's overhead
should hide the server's own speed on a 2-core machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


def run_client(load: Coroutine[Any, Any, T]) -> T:
    """Run a load on uvloop when installed (uvicorn[standard] brings it): the lean client,
    as pgbench's is C, should leave the 2 cores to the server (~45 against ~54 us of CPU per
    command here, and ~6% more commands/s in the same window)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(load)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(load)


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> dict[str, object]:
        return orjson.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Connection:
    host: str
    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    latencies: list[float] = field(default_factory=list)

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()

    async def request(
        self,
        method: str,
        path: str,
        body: object | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        assert self.reader is not None and self.writer is not None
        payload = b"" if body is None else orjson.dumps(body)
        head = [
            f"{method} {path} HTTP/1.1",
            f"host: {self.host}",
            f"content-length: {len(payload)}",
        ]
        if body is not None:
            head.append("content-type: application/json")
        head.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        started = time.perf_counter()
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        data = await self.reader.readexactly(length) if length else b""
        self.latencies.append(time.perf_counter() - started)
        return Reply(int(status_line.split()[1]), data)
