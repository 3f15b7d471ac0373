"""`glow recommend replay-eval` on the demo business, on PostgreSQL: the business is seeded through
the API in two parts with T1 between them, so the log as of T1 holds the first part and the
purchases of [T1, T2) are the second. A model saved before T1 and a ranking policy are scored
(rule violations 0); a model saved after T1 is refused; the figures repeat exactly."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.main import main
from configuration.settings import Settings
from demo.business import generate
from demo.seeding import Seeder, seed, send_history
from recommender.replay_evaluation import (
    ReplayRefusedError,
    candidate_model,
    replay_evaluation,
    replay_log,
)
from recommender.training import train_from_log
from tests.e2e.ledger_server import TEST_MASTER_KEY, RunningLedger, serve, token


def seed_in_two_parts(shop: RunningLedger, tmp_path: Path) -> tuple[datetime, datetime]:
    business = generate(products=40, customers=80, seed=5)
    cut = sorted(h.at for h in business.happenings)[int(len(business.happenings) * 0.7)]

    async def run() -> datetime:
        async with httpx.AsyncClient(base_url=shop.base_url, timeout=60) as client:
            seeder = Seeder(client, token("admin"))
            await seed(seeder, business, until=cut)
            time.sleep(0.05)
            since = datetime.now(UTC)
            runtime = shop.runtime
            train_from_log(runtime.ledger, runtime.customers.ledger, tmp_path, since)  # v0001
            time.sleep(0.05)
            await send_history(seeder, [h for h in business.happenings if h.at >= cut])
            return since

    since = asyncio.run(run())
    time.sleep(0.05)
    until = datetime.now(UTC)
    runtime = shop.runtime
    train_from_log(runtime.ledger, runtime.customers.ledger, tmp_path, until)  # v0002
    return since, until


def test_replay_scores_a_model_and_a_policy_refuses_a_later_model_and_repeats(
    postgres_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with serve(Settings(event_store_url=postgres_store, hot_views_url="memory://")) as shop:
        since, until = seed_in_two_parts(shop, tmp_path)
        inventory, customers = shop.runtime.ledger, shop.runtime.customers.ledger
        log = replay_log(inventory, customers, since, until)
        assert log.outcome.interactions and log.signals.interactions
        name, model = candidate_model(log, since, tmp_path, "v0001")
        assert name == "v0001" and model.trained_until == since
        report = replay_evaluation(log, since, until, name, model).as_dict()
        assert report["customers_at_since"] == 80 and report["scored_customers"] > 10
        candidate, baseline = report["candidate"], report["baseline"]
        assert candidate["policy"] == "standard" and baseline["policy"] == "popular-for-skin-type"
        for scored in (candidate, baseline):
            assert scored["rule_violations"] == 0 and scored["lists_served"] == 80
            assert 0 < scored["precision_at_10"] <= 1 and 0 < scored["recall_at_10"] <= 1
            assert scored["hits"] > 0 and float(scored["hit_revenue"]["EUR"]) > 0
        assert candidate["by_kind"]["personal"]["customers"] > 0
        assert candidate["by_kind"]["popular"]["customers"] > 0  # those without consent
        assert baseline["by_kind"]["personal"]["customers"] == 0

        with pytest.raises(ReplayRefusedError, match="v0002 was trained on data after T1"):
            candidate_model(log, since, tmp_path, "v0002")
        with pytest.raises(ReplayRefusedError, match="trained on data after T1"):
            candidate_model(log, since, tmp_path, "serving")

        monkeypatch.setenv("GLOW_MODEL_DIR", str(tmp_path))
        monkeypatch.setenv("GLOW_MASTER_KEY", TEST_MASTER_KEY)
        args = ["--store", postgres_store, "recommend", "replay-eval"]
        window = ["--since", since.isoformat(), "--until", until.isoformat(), "--json"]
        runs = []
        for _ in range(2):
            assert main([*args, *window, "--policy", "no-promotions"]) == 0
            runs.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
        assert runs[0] == runs[1], "the same window, model and policy give the same figures"
        assert runs[0]["model"] == "trained as of T1"
        assert runs[0]["candidate"]["policy"] == "no-promotions"
        assert runs[0]["baseline"]["policy"] == "standard"
        assert runs[0]["candidate"]["rule_violations"] == 0

        assert main([*args, *window, "--model", "v0002"]) == 2
        assert "trained on data after T1" in capsys.readouterr().out
        assert main([*args, *window, "--policy", "best"]) == 2
        assert "no ranking policy 'best'" in capsys.readouterr().out
        backwards = ["--since", until.isoformat(), "--until", since.isoformat()]
        assert main([*args, *backwards]) == 2
        assert "must end after it starts" in capsys.readouterr().out
        assert main([*args, "--since", "2026-01-01", "--until", until.isoformat()]) == 2
        assert "no timezone" in capsys.readouterr().out
