"""The first answer given to an idempotency key, and a memory of the recent ones."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

SCOPE_SEPARATOR = "\x1f"  # a control character: never in a key the API accepts (printable)


def scoped_key(subject: str, channel: str, key: str) -> str:
    """The key an answer is stored under: the caller's own (subject and channel) and the key
    it sent, so one caller's keys can neither replay, block nor reveal another's (Stripe
    scopes them per account). The client's key is read back with `client_key`."""
    return f"{subject}{SCOPE_SEPARATOR}{channel}{SCOPE_SEPARATOR}{key}"


def client_key(stored_key: str) -> str:
    """The key as the client sent it (keys stored before scoping have no scope)."""
    return stored_key.rpartition(SCOPE_SEPARATOR)[2]


@dataclass(frozen=True)
class CommandAnswer:
    idempotency_key: str
    fingerprint: str
    status: int
    body: dict[str, Any]

    def response_bytes(self) -> bytes:
        return orjson.dumps(self.body)

    @classmethod
    def from_row(cls, key: str, fingerprint: str, status: int, response: bytes) -> CommandAnswer:
        return cls(key, fingerprint, status, orjson.loads(response))


class RecentAnswers:
    """Answers this process committed lately (LRU), so most retries need no database read."""

    def __init__(self, maxsize: int = 100_000) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[str, CommandAnswer] = OrderedDict()

    def get(self, key: str) -> CommandAnswer | None:
        return self._items.get(key)

    def put(self, answer: CommandAnswer) -> None:
        self._items[answer.idempotency_key] = answer
        self._items.move_to_end(answer.idempotency_key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)
