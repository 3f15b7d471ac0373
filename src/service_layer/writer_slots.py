"""Where the writer puts a command's outcome: `Answerable` is what it needs of one (a
concurrent Future is one), `Slot` the one for a waiter it cannot wake directly, a coroutine's
future in an event loop or a request another process sent.

A slot only writes the outcome into an outbox; whoever owns the outbox hands a whole commit
group's outcomes over at once (one wake-up per event loop, one frame to the API process),
instead of one cross-thread call per command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from service_layer.writer import Outcome

Waiter = TypeVar("Waiter")
Delivery = tuple[Waiter, Outcome | None, BaseException | None]


class Answerable(Protocol):
    def set_running_or_notify_cancel(self) -> bool: ...

    def set_result(self, result: Outcome) -> None: ...

    def set_exception(self, exception: BaseException | None) -> None: ...

    def done(self) -> bool: ...


def _never() -> bool:
    return False


class Slot(Generic[Waiter]):
    """An outcome bound for `waiter`, put in `outbox` for its owner to hand over; `gave_up`
    says whether the waiter stopped waiting (then the command is not applied)."""

    def __init__(
        self,
        waiter: Waiter,
        outbox: list[Delivery[Waiter]],
        gave_up: Callable[[], bool] = _never,
    ) -> None:
        self.waiter = waiter
        self._outbox = outbox
        self._gave_up = gave_up
        self._answered = False

    def set_running_or_notify_cancel(self) -> bool:
        return not self._gave_up()

    def set_result(self, result: Outcome) -> None:
        self._answered = True
        self._outbox.append((self.waiter, result, None))

    def set_exception(self, exception: BaseException | None) -> None:
        self._answered = True
        self._outbox.append((self.waiter, None, exception))

    def done(self) -> bool:
        return self._answered


def settle(deliveries: list[Delivery[Any]]) -> None:
    """In the futures' event loop (or with concurrent futures, anywhere): set each outcome,
    unless its caller gave up."""
    for future, outcome, error in deliveries:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcome)
