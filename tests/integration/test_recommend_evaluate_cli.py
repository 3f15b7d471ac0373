"""`glow recommend evaluate` on a seeded ledger: the log's figures with warm and cold customers
apart and the recent-popular baseline; with --movielens, MovieLens forward in time and the warm
update too; an empty log is refused with what was expected (or left out when MovieLens is asked)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.main import main
from configuration.settings import Settings
from demo.business import Business
from demo.running import seed_in_process

HELD_OUT_BEFORE_THE_END = timedelta(days=90)


def _holdout_days() -> str:
    """Days back from now to 90 days before the demo's last day (its dates are fixed)."""
    cut = Business({}, {}).end - HELD_OUT_BEFORE_THE_END
    return str((datetime.now(UTC) - cut).days)


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("evaluate")
    store = f"sqlite:///{folder / 'ledger.sqlite'}"
    settings = Settings.from_env(event_store_url=store)
    asyncio.run(seed_in_process(settings, 30, 120, 7))
    return store


def test_the_log_s_figures_report_warm_and_cold_customers_and_recent_popularity(
    seeded_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert (
        main(["--store", seeded_store, "recommend", "evaluate", "--holdout-days", _holdout_days()])
        == 0
    )
    figures = json.loads(capsys.readouterr().out)
    assert figures["users"] > 0
    assert figures["warm_users"] + figures["cold_users"] == figures["users"]
    for key in (
        "model_p_at_10",
        "warm_model_p_at_10",
        "cold_model_p_at_10",
        "recent_popular_p_at_10",
    ):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["recent_days"] > 0
    assert "ml100k_temporal_p_at_10" not in figures


@pytest.mark.slow  # over 12 s: CI's second pass (scripts/test -m slow)
def test_movielens_prints_the_figures_forward_in_time_and_the_warm_update(
    seeded_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    argv = ["--store", seeded_store, "recommend", "evaluate", "--movielens"]
    assert main([*argv, "--holdout-days", _holdout_days()]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["ml100k_temporal_users"] == 301
    assert figures["ml100k_temporal_warm_users"] == 109
    assert figures["ml100k_temporal_p_at_10"] > figures["ml100k_temporal_recent_popular_p_at_10"]
    assert (
        figures["ml100k_temporal_recent_popular_p_at_10"]
        > figures["ml100k_temporal_popular_p_at_10"]
    )
    assert figures["ml100k_warm_p_at_10"] >= 0.95 * figures["ml100k_full_retrain_p_at_10"]
    assert figures["ml100k_p_at_10"] >= 0.28  # the random split still reported
    assert figures["model_p_at_10"] >= 0.0  # and the log's own figures beside them


def test_an_empty_log_is_refused_saying_what_was_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    assert main(["--store", store, "recommend", "evaluate"]) == 2
    refused = capsys.readouterr().err
    assert "nothing to evaluate" in refused and "expected purchases on both sides" in refused
