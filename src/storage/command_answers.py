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


# The `status` column of glow_command_answers (and of the SQLite store's table) holds what the
# versions before domain results stored: the HTTP status of the first answer, 201 when the
# command created something and 200 otherwise. The schema keeps the column, so answers stored
# before and after read alike; this is the one place a row's status and a result's `created`
# are translated (`stored_status`, `from_row`).
CREATED_STATUS = 201
DONE_STATUS = 200


@dataclass(frozen=True)
class CommandAnswer:
    idempotency_key: str
    fingerprint: str
    body: dict[str, Any]
    created: bool = False

    def response_bytes(self) -> bytes:
        return orjson.dumps(self.body)

    def stored_status(self) -> int:
        """The row's `status` column."""
        return CREATED_STATUS if self.created else DONE_STATUS

    @classmethod
    def from_row(cls, key: str, fingerprint: str, status: int, response: bytes) -> CommandAnswer:
        return cls(key, fingerprint, orjson.loads(response), created=status == CREATED_STATUS)


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
