"""The resolver webhook deliveries use: aiohttp's, keeping only the addresses webhooks may
call (service_layer/webhook_addresses.py), so a host name that resolves to a forbidden address
fails the delivery, however it resolved when it was subscribed."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp

from service_layer.webhook_addresses import refusal


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, keeping only the addresses webhooks may call."""

    def __init__(self, private_allowed: bool) -> None:
        self.private_allowed = private_allowed
        self.inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[Any]:
        found = await self.inner.resolve(host, port, family)
        allowed = [r for r in found if refusal(r["host"], self.private_allowed) is None]
        if not allowed:
            reasons = "; ".join(
                filter(None, (refusal(r["host"], self.private_allowed) for r in found))
            )
            raise OSError(f"{host} resolves only to addresses webhooks may not call: {reasons}")
        return allowed

    async def close(self) -> None:
        await self.inner.close()
