"""`glow export` and `glow replay` on a real PostgreSQL: JSON Lines of the log, of one
aggregate, of a time window; resumed after an interruption; replayed and compared."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from audit.log_replay import replay_log
from cli.main import main
from tests.e2e.conftest import scratch_database
from tests.integration.audit_shop import SHOP, SOAP, now, open_shop


@pytest.fixture
def store() -> Iterator[str]:
    with scratch_database() as url:
        with open_shop(url) as shop:
            shop.receive("B1", 10)
            shop.sell(2, channel="pos", source_ref="receipt-1")
            shop.reserve(3, "web", "order-7")
        yield url


def _lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_the_whole_log_exports_and_replays_to_the_live_state(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "log.jsonl"
    assert main(["--store", store, "export", str(out)]) == 0
    lines = _lines(out)
    assert [line["position"] for line in lines] == list(range(1, len(lines) + 1))
    capsys.readouterr()
    assert main(["--store", store, "replay", str(out)]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert result["agrees"] is True
    assert result["aggregates_matching"] == len({line["originator_id"] for line in lines})


def test_one_aggregates_history_exports_alone(store: str, tmp_path: Path) -> None:
    out = tmp_path / "stock.jsonl"
    assert (
        main(["--store", store, "export", str(out), "--kind", "stock", "--key", "SOAP-ROSE@SHOP"])
        == 0
    )
    lines = _lines(out)
    assert [line["originator_version"] for line in lines] == [1, 2, 3, 4]
    assert {line["event"]["type"] for line in lines} >= {"Stock.Sold", "Stock.Reserved"}  # type: ignore[index]


def test_an_interrupted_export_resumes_to_the_same_file(store: str, tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    assert main(["--store", store, "export", str(whole)]) == 0
    cut = tmp_path / "cut.jsonl"
    content = whole.read_bytes()
    fifth_line_end = [i for i, b in enumerate(content) if b == ord("\n")][4]
    cut.write_bytes(content[: fifth_line_end + 1 + 40])  # five lines and half of the sixth
    assert main(["--store", store, "export", str(cut), "--resume"]) == 0
    assert cut.read_bytes() == content


def test_a_time_window_exports_only_what_was_recorded_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with scratch_database() as url:
        with open_shop(url) as shop:
            shop.receive("B1", 10)
            time.sleep(0.01)
            since = now()
            shop.sell(1)
        out = tmp_path / "window.jsonl"
        assert main(["--store", url, "export", str(out), "--since", since.isoformat()]) == 0
        assert [line["event"]["type"] for line in _lines(out)] == ["Stock.Sold"]  # type: ignore[index]
        capsys.readouterr()
        assert main(["--store", url, "replay", str(out)]) == 0
        assert len(orjson.loads(capsys.readouterr().out)["incomplete_in_file"]) == 1


def test_replay_reports_an_export_that_disagrees_with_the_store(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "log.jsonl"
    assert main(["--store", store, "export", str(out)]) == 0
    lines = _lines(out)
    received = next(line for line in lines if line["topic"].endswith("Stock.BatchReceived"))  # type: ignore[union-attr]
    state = base64.b64decode(str(received["state"]))
    assert b'"quantity":10' in state
    received["state"] = base64.b64encode(state.replace(b'"quantity":10', b'"quantity":11')).decode()
    out.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    capsys.readouterr()
    assert main(["--store", store, "replay", str(out)]) == 1
    assert len(orjson.loads(capsys.readouterr().out)["differing"]) == 1


def test_history_as_of_and_batch_trace_answer_on_the_command_line(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--store", store, "history", "stock", f"{SOAP}@{SHOP}"]) == 0
    assert len(orjson.loads(capsys.readouterr().out)) == 4
    assert main(["--store", store, "as-of", "stock", SOAP, "--at", now().isoformat()]) == 0
    assert orjson.loads(capsys.readouterr().out)["on_hand"] == 8
    assert main(["--store", store, "batch-trace", SOAP, "B1"]) == 0
    assert orjson.loads(capsys.readouterr().out)["sales"][0]["order"] == "receipt-1"
    assert main(["--store", store, "as-of", "stock", SOAP, "--at", "not-a-time"]) == 2


def test_the_whole_log_replays_from_the_store_to_every_live_aggregate(store: str) -> None:
    with open_shop(store, first_time=False) as shop:
        rebuilt = replay_log(shop.ledger)
        assert rebuilt.incomplete == set()
        for aggregate_id, aggregate in rebuilt.aggregates.items():
            live = shop.ledger.repository.get(aggregate_id)
            assert live.version == aggregate.version
            assert vars(live) == {**vars(aggregate), "_pending_events": []}
