"""The shop's commands as a published log: envelopes in commit order, positions from 1."""

from __future__ import annotations

from memory_uow import MemoryUnitOfWork

from domain.commands import Command
from events.envelope import Envelope
from streams.log_reader import SubjectBook, to_envelopes


class ShopLog:
    def __init__(self) -> None:
        self.uow = MemoryUnitOfWork()
        self.book = SubjectBook(self._creation)
        self.envelopes: list[Envelope] = []
        self.position = 0

    def run(self, *commands: Command) -> list[Envelope]:
        published: list[Envelope] = []
        for command in commands:
            self.uow.run(command)
            published.extend(self._publish(self.uow.last_events))
        self.envelopes.extend(published)
        return published

    def _publish(self, events: list[object]) -> list[Envelope]:
        positioned = []
        for event in events:
            self.position += 1
            positioned.append((self.position, event))
        return to_envelopes(positioned, self.book)  # type: ignore[arg-type]

    def _creation(self, aggregate_id):  # type: ignore[no-untyped-def]
        history = self.uow.history.get(aggregate_id, [])
        return history[0] if history else None
