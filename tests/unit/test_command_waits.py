"""A drain that runs out of time answers every command still waiting, at once."""

from __future__ import annotations

import asyncio

import pytest

from api.command_waits import Deadlines
from service_layer.writer import WriterStoppedError


def test_fail_all_answers_the_waiting_commands_and_leaves_the_answered_alone() -> None:
    async def scenario() -> tuple[int, asyncio.Future[str], asyncio.Future[str]]:
        loop = asyncio.get_running_loop()
        waiting, answered = loop.create_future(), loop.create_future()
        deadlines = Deadlines()
        deadlines.watch(waiting, 60.0)
        deadlines.watch(answered, 60.0)
        answered.set_result("committed")
        failed = deadlines.fail_all(WriterStoppedError("shutting down"))
        await asyncio.sleep(0)
        return failed, waiting, answered

    failed, waiting, answered = asyncio.run(scenario())
    assert failed == 1
    with pytest.raises(WriterStoppedError, match="shutting down"):
        waiting.result()
    assert answered.result() == "committed"
