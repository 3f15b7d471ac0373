"""Replenishment end to end on PostgreSQL and chDB: forecasts written through the
ForecastStore, `glow replenish` planning from them and the ledger (a transfer from a slow store
to a fast one, a purchase rounded to its policy's multiple), a later run superseding the
open suggestions, the alerts reaching a real webhook receiver signed, and acceptance over
HTTP creating the expected shipment or the transfer in transit once (also two at once)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from cli.main import main
from configuration.settings import Settings
from domain.forecasts import QUANTILES, DayDemand, DemandForecast
from projections.clickhouse_facts import ClickHouseFacts
from projections.forecast_store import ForecastRun, ForecastStore
from tests.e2e.conftest import scratch_database
from tests.e2e.ledger_server import (
    TEST_JWT_SECRET,
    TEST_MASTER_KEY,
    RunningLedger,
    auth_headers,
    caller_headers,
    count_events,
    define_sku,
    headers,
    receive,
    register_location,
    serve,
)
from tests.e2e.webhook_receiver import OK, always, receiving

SERUM, CREAM = "SERUM-RP", "CREAM-RP"
SLOW, FAST = "SLOW-1", "FAST-1"
TODAY = datetime.now(tz=UTC).date()
ALERTS = ("replenishment.low_stock", "replenishment.expiry_risk")

pytestmark = pytest.mark.postgres


def forecast(sku: str, location: str, rate: float, run_id: str) -> DemandForecast:
    return DemandForecast(
        sku=sku,
        location=location,
        run_id=run_id,
        made_at=datetime.now(tz=UTC),
        model="CrostonSBA",
        mase=0.7,
        mase_naive=1.0,
        daily_rmse=0.0,
        days=tuple(
            DayDemand(TODAY + timedelta(days=n), rate, tuple(rate for _ in QUANTILES))
            for n in range(28)
        ),
    )


def write_forecasts(facts: ClickHouseFacts) -> None:
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    series = [
        forecast(SERUM, SLOW, 0.2, run_id),
        forecast(SERUM, FAST, 1.0, run_id),
        forecast(CREAM, FAST, 2.0, run_id),
    ]
    run = ForecastRun(run_id, datetime.now(tz=UTC), TODAY, 28, len(series), 0.1, True)
    ForecastStore(facts.client).write(run, series)


@pytest.fixture
def shop(
    facts: ClickHouseFacts, analytics_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningLedger, httpx.Client]]:
    with scratch_database() as url:
        for name, value in {
            "GLOW_EVENT_STORE_URL": url,
            "GLOW_ANALYTICS_URL": analytics_url,
            "GLOW_MASTER_KEY": TEST_MASTER_KEY,
            "GLOW_JWT_SECRET": TEST_JWT_SECRET,
        }.items():
            monkeypatch.setenv(name, value)
        settings = Settings(
            event_store_url=url,
            webhooks=True,
            webhook_private_hosts=True,
            webhook_backoff_seconds=0.05,
            webhook_backoff_cap_seconds=0.2,
            writer_process=True,  # as `glow serve` runs on PostgreSQL: commands cross a socket
        )
        with (
            serve(settings) as running,
            httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
        ):
            define_sku(client, SERUM)
            define_sku(client, CREAM)
            register_location(client, SLOW)
            register_location(client, FAST)
            receive(client, SERUM, SLOW, "S1", 40, (TODAY + timedelta(days=60)).isoformat())
            receive(client, SERUM, FAST, "F1", 12, (TODAY + timedelta(days=5)).isoformat())
            write_forecasts(facts)
            yield running, client


def replenish(capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, Any]:
    assert main(["replenish", "--json", *options]) == 0
    found: dict[str, Any] = orjson.loads(capsys.readouterr().out)
    return found


def open_at(client: httpx.Client, location: str) -> list[dict[str, Any]]:
    answer = client.get("/replenishment/suggestions", params={"location": location})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["suggestions"]
    return found


def accept(client: httpx.Client, suggestion_id: str, **caller: Any) -> httpx.Response:
    path = f"/replenishment/suggestions/{suggestion_id}/accept"
    return client.post(path, json={}, headers=caller or headers())


def test_glow_replenish_moves_from_the_slow_store_buys_the_rest_and_alerts(
    shop: tuple[RunningLedger, httpx.Client], capsys: pytest.CaptureFixture[str]
) -> None:
    running, client = shop
    policy = {"service_level": 0.95, "lead_time_days": 7, "review_period_days": 7}
    set_policy = f"/replenishment/policies/{FAST}/{CREAM}"
    answer = client.put(set_policy, json={**policy, "order_multiple": 6}, headers=headers())
    assert answer.status_code == 201, answer.text
    assert client.get(set_policy).json()["terms"]["order_multiple"] == 6
    with receiving(always(OK)) as receiver:
        made = client.post(
            "/webhooks/subscriptions", json={"url": receiver.url, "event_types": list(ALERTS)}
        )
        assert made.status_code == 201, made.text
        first = replenish(capsys)
        second = replenish(capsys)  # supersedes the first run's open suggestions
        delivered = receiver.wait_for(8)  # each run: 4 alerts
        time.sleep(0.5)  # nothing more is coming
    assert len(receiver.accepted()) == 8
    signer = Webhook(made.json()["secret"])
    alerts = [signer.verify(r.body, r.headers) for r in delivered]
    kinds = {(a["type"], a["data"]["sku"], a["data"]["location"]) for a in alerts}
    low_stock, expiry_risk = ALERTS
    assert kinds == {
        (low_stock, SERUM, FAST),
        (low_stock, CREAM, FAST),
        (expiry_risk, SERUM, FAST),
        (expiry_risk, SERUM, SLOW),
    }
    risks = {a["data"]["batch"]: a["data"] for a in alerts if a["type"] == expiry_risk}
    assert (risks["F1"]["units_at_risk"], risks["S1"]["units_at_risk"]) == (7, 28)
    assert risks["F1"]["expiry"] == (TODAY + timedelta(days=5)).isoformat()
    lows = {a["data"]["sku"]: a["data"] for a in alerts if a["type"] == low_stock}
    assert lows[SERUM]["runs_out_on"] == (TODAY + timedelta(days=5)).isoformat()
    assert lows[CREAM]["runs_out_on"] == TODAY.isoformat()
    assert {a["data"]["run_id"] for a in alerts} == {first["run_id"], second["run_id"]}

    by_kind = {(s["kind"], s["sku"]): s for s in second["suggestions"]}
    assert set(by_kind) == {("transfer", SERUM), ("purchase", CREAM)}
    moved, bought = by_kind["transfer", SERUM], by_kind["purchase", CREAM]
    assert (moved["from_location"], moved["location"], moved["quantity"]) == (SLOW, FAST, 9)
    assert bought["quantity"] == 30 and "multiple of 6" in " ".join(bought["reasons"])
    listed = open_at(client, FAST)
    assert {(s["kind"], s["quantity"]) for s in listed} == {("transfer", 9), ("purchase", 30)}
    assert all(s["run_id"] == second["run_id"] and s["reasons"] for s in listed)
    assert main(["replenish", "--show", "--location", FAST]) == 0
    table = capsys.readouterr().out
    assert "2 open suggestion(s)" in table and "transfer" in table and SLOW in table

    stale = open_at_run(first, client)
    refused = accept(client, stale)
    assert refused.status_code == 409, refused.text
    assert f"superseded by run {second['run_id']}" in refused.json()["detail"]

    purchase_id = next(s["suggestion_id"] for s in listed if s["kind"] == "purchase")
    answers = accept_at_once(client, purchase_id)
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    again = accept(client, purchase_id)  # later, without the first one's key: the same
    assert again.status_code == 200 and again.json() == answers[0].json()
    stock = client.get(f"/skus/{CREAM}/stock/{FAST}").json()
    assert stock["incoming"] == 30  # one expected shipment, not two or three

    transfer_id = next(s["suggestion_id"] for s in listed if s["kind"] == "transfer")
    elsewhere = caller_headers("store-staff", "pos", location="ELSEWHERE-9")
    before = count_events(running.store_url)
    assert accept(client, transfer_id, **elsewhere).status_code == 403
    assert count_events(running.store_url) == before
    staff = caller_headers("store-staff", "pos", location=FAST)
    taken = accept(client, transfer_id, **staff)
    assert taken.status_code == 200, taken.text
    assert taken.json()["transfer_id"] == transfer_id
    arriving = client.get(f"/skus/{SERUM}/stock/{FAST}").json()
    leaving = client.get(f"/skus/{SERUM}/stock/{SLOW}").json()
    assert (arriving["in_transit"], leaving["on_hand"]) == (9, 31)
    assert open_at(client, FAST) == []
    third = replenish(capsys)  # the expected shipment and the transfer in transit count
    assert third["suggestions"] == []

    assert main(["history", "suggestion", transfer_id]) == 0
    history = capsys.readouterr().out
    assert "Suggestion.Made" in history and "Suggestion.Accepted" in history
    assert "all 9 sell at FAST-1 before they expire" in history


def open_at_run(run: dict[str, Any], client: httpx.Client) -> str:
    """The id of one suggestion the first run made (its suggestions are no longer open)."""
    found = client.get("/replenishment/suggestions", params={"location": FAST}).json()
    open_ids = {s["suggestion_id"] for s in found["suggestions"]}
    from domain.replenishment import suggestion_id

    made = run["suggestions"][0]
    stale = str(
        suggestion_id(
            run["run_id"], made["kind"], made["sku"], made["location"], made["from_location"]
        )
    )
    assert stale not in open_ids
    return stale


def accept_at_once(client: httpx.Client, suggestion_id: str) -> list[httpx.Response]:
    """Two clients accept the same suggestion at the same moment, each with its own key."""
    start = threading.Barrier(2)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def one() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
            start.wait()
            answer = accept(own, suggestion_id)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def test_a_policy_out_of_range_or_an_unknown_suggestion_is_a_clear_problem(
    shop: tuple[RunningLedger, httpx.Client],
) -> None:
    running, client = shop
    path = f"/replenishment/policies/{FAST}/{CREAM}"
    before = count_events(running.store_url)
    bad = client.put(
        path,
        json={"service_level": 1.5, "lead_time_days": 7, "review_period_days": 7},
        headers=headers(),
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "service_level" in bad.text and "less than 1" in bad.text
    incoherent = client.put(
        path,
        json={
            "service_level": 0.9,
            "lead_time_days": 7,
            "review_period_days": 7,
            "min_units": 9,
            "max_units": 3,
        },
        headers=headers(),
    )
    assert incoherent.status_code == 422, incoherent.text
    assert "min_units (9) at most max_units (3)" in incoherent.json()["detail"]
    assert count_events(running.store_url) == before
    staff = caller_headers("store-staff", "pos", location=FAST)
    assert client.put(path, json={}, headers=staff).status_code == 403
    unknown = accept(client, str(uuid.uuid4()))
    assert unknown.status_code == 404 and "no replenishment suggestion" in unknown.text
    assert client.get(f"/replenishment/policies/{SLOW}/{SERUM}").json()["from_settings"]
    nowhere = client.get("/replenishment/suggestions", params={"location": "NOWHERE"})
    assert nowhere.status_code == 404, nowhere.text
    for where, status, says in (
        (f"/replenishment/policies/NOWHERE/{SERUM}", 404, "no location 'NOWHERE' is registered"),
        (f"/replenishment/policies/{SLOW}/NOPE", 404, "no SKU 'NOPE' in the catalog"),
        (f"/replenishment/policies/BAD%20LOC/{SERUM}", 422, "is not a location code"),
        ("/forecasts/BAD%20SKU", 422, "is not a SKU code"),
    ):
        answer = client.get(where)
        assert answer.status_code == status, (where, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert says in answer.json()["detail"], answer.text


def test_glow_replenish_without_forecasts_plans_nothing_and_says_so(
    facts: ClickHouseFacts,
    analytics_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cron that runs it before any `glow forecast run` fails loudly, recording nothing."""
    monkeypatch.setenv("GLOW_EVENT_STORE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    monkeypatch.setenv("GLOW_ANALYTICS_URL", analytics_url)
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["replenish"]) == 1
    said = capsys.readouterr()
    assert "no forecasts in GLOW_ANALYTICS_URL (run `glow forecast run` first)" in said.err
    assert "suggestion(s)" not in said.out
    assert main(["replenish", "--show", "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out) == []
