"""`glow lag` with a broker that does not answer says so in one line and exits 1, instead of
ending in a traceback (a rebalancing group, a broker still starting)."""

from __future__ import annotations

import pytest

from cli.dev_processes import free_port
from cli.main import main
from tests.e2e.conftest import scratch_database


def test_lag_says_the_broker_did_not_answer_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = free_port()  # nothing listens there
    monkeypatch.setenv("GLOW_BROKER_URL", f"kafka://127.0.0.1:{closed}")
    with scratch_database() as url:
        assert main(["--store", url, "lag"]) == 1
    said = capsys.readouterr()
    assert f"the broker at 127.0.0.1:{closed} did not tell" in said.err
    assert "Traceback" not in said.err
