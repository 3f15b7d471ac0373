"""A/B experiments end to end on PostgreSQL, Redis and chDB: a small business seeded through the
command API, a model trained and published, an experiment defined over HTTP; customers asking
for recommendations are assigned once (even by concurrent first requests), served their
variant and logged as exposed in ClickHouse; a withdrawn consent takes them out at once; the
guard stops a variant whose lists broke a rule; bad input gets problem+json."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from clickhouse_connect.driver.client import Client

from configuration.settings import Settings
from domain.experiment import Variant, assignment_id, bucket, variant_for
from privacy.pseudonyms import behaviour_person
from projections.behaviour_rows import TrackedBatch
from projections.behaviour_tables import BehaviourTables
from recommender.challenger_publishing import publish_challenger
from recommender.store import RecommendationStore
from recommender.training import read_log, train_from_log
from service_layer.experiment_desk import ExperimentDesk, guard, open_experiment_ledger
from tests.e2e.ledger_server import RunningLedger, auth_headers, serve
from tests.e2e.test_api_recommendations import post, recommendations, seeded, trained

pytestmark = pytest.mark.postgres

VARIANTS = [Variant("control", 50, "policy", "standard"), Variant("b", 50, "policy", "no-session")]


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("GLOW_MODEL_DIR", str(folder))
    return folder


@pytest.fixture
def shop(
    postgres_store: str, recs_url: str, models: Path, tmp_path: Path
) -> Iterator[RunningLedger]:
    settings = Settings(
        event_store_url=postgres_store,
        hot_views_url="memory://",
        analytics_url=f"chdb://{tmp_path / 'chdb'}",
        track_flush_seconds=0.05,
        experiments_refresh_seconds=0.0,
    )
    with serve(settings) as running:
        yield running


def admin(shop: RunningLedger) -> httpx.Client:
    return httpx.Client(base_url=shop.base_url, headers=auth_headers(), timeout=30)


def experiment_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "session off",
        "hypothesis": "re-ranking by the session does not move conversion",
        "variants": [
            {"name": "control", "weight": 50, "policy": "standard"},
            {"name": "b", "weight": 50, "policy": "no-session"},
        ],
        "attribution_days": 7,
        "ends_at": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
    }
    return {**body, **changes}


def define(shop: RunningLedger, **changes: Any) -> dict[str, Any]:
    with admin(shop) as client:
        response = client.post("/experiments", json=experiment_body(**changes))
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def chdb(shop: RunningLedger) -> Client:
    side = shop.runtime.read_side
    assert side is not None and side.sinks.facts is not None
    return side.sinks.facts.client


def person_of(shop: RunningLedger, customer_id: str) -> str:
    key = shop.runtime.customers.ledger.vault.data_key(UUID(customer_id))
    assert key is not None
    return behaviour_person(key)


def exposures(shop: RunningLedger, person: str) -> list[tuple[Any, ...]]:
    buffer = shop.runtime.behaviour.buffer if shop.runtime.behaviour else None
    assert buffer is not None
    time.sleep(0.2)  # the answer's exposure task hands its row to the buffer
    buffer.flush()
    rows = (
        chdb(shop)
        .query(
            "SELECT variant, products, list_kind, rule_violations FROM experiment_exposures FINAL"
            " WHERE person = {p:String}",
            parameters={"p": person},
        )
        .result_rows
    )
    return [tuple(row) for row in rows]


def assignment_events(url: str, experiment_id: str, person: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM experiments_events WHERE originator_id = %s",
            (assignment_id(UUID(experiment_id), person),),
        ).fetchone()
    assert row is not None
    return int(row[0])


def consenting(shop: RunningLedger, tmp_path: Path, recs_url: str) -> list[str]:
    business, ids = seeded(shop)
    trained(shop, tmp_path / "models", recs_url)
    return [
        ids[c.facts.customer_id] for c in business.customers.values() if c.facts.personalisation
    ]


def test_concurrent_first_requests_assign_once_and_each_list_shown_is_an_exposure(
    shop: RunningLedger, tmp_path: Path, recs_url: str, postgres_store: str
) -> None:
    customers = consenting(shop, tmp_path, recs_url)
    made = define(shop)
    experiment_id = made["id"]
    cid = customers[0]
    expected = variant_for(VARIANTS, bucket(UUID(experiment_id), cid)).name

    async def first_requests() -> list[dict[str, Any]]:
        headers = auth_headers("customer", customer_id=cid, channel="web")
        async with httpx.AsyncClient(base_url=shop.base_url, headers=headers, timeout=60) as c:
            answers = await asyncio.gather(
                *(c.get(f"/customers/{cid}/recommendations") for _ in range(12))
            )
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        return [a.json() for a in answers]

    answers = asyncio.run(first_requests())
    assert {(a["experiment"], a["variant"]) for a in answers} == {(experiment_id, expected)}
    person = person_of(shop, cid)
    assert assignment_events(postgres_store, experiment_id, person) == 1
    shown = exposures(shop, person)
    assert len(shown) == 12 and {row[0] for row in shown} == {expected}
    assert {tuple(row[1]) for row in shown} == {
        tuple(s["product_code"] for s in answers[0]["suggestions"])
    }
    assert all(row[2] == "personal" and row[3] == 0 for row in shown)

    # a restart: a desk of its own on the same store finds every customer where they were
    for other in customers[1:6]:
        recommendations(shop, other)
    restarted = ExperimentDesk(open_experiment_ledger(shop.runtime.settings), tmp_path)
    try:
        experiment = restarted.experiment(UUID(experiment_id))
        for other in customers[:6]:
            first = variant_for(VARIANTS, bucket(UUID(experiment_id), other)).name
            assert restarted.assign(experiment, other, person_of(shop, other)) == first
    finally:
        restarted.ledger.close()

    with httpx.Client(base_url=shop.base_url, headers=auth_headers("analyst"), timeout=30) as c:
        report = c.get(f"/experiments/{experiment_id}").json()
    rows = {row["variant"]: row for row in report["report"]["variants"]}
    assert sum(row["exposed"] for row in rows.values()) == 6
    assert rows[expected]["exposures"] >= 12 and "lift_vs_control" in rows["b"]

    # withdrawn consent: the non-personal list at once, neither placed nor exposed again
    post(shop, f"/customers/{cid}/consents/withdraw", {"purpose": "personalisation"})
    after = recommendations(shop, cid)
    assert after["kind"] == "popular" and after["experiment"] is None and after["variant"] is None
    assert len(exposures(shop, person)) == 12


def test_the_guard_stops_a_variant_whose_lists_broke_a_rule_and_its_customers_get_the_control(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    customers = consenting(shop, tmp_path, recs_url)
    experiment_id = define(shop)["id"]
    in_b = next(
        c for c in customers if variant_for(VARIANTS, bucket(UUID(experiment_id), c)).name == "b"
    )
    assert recommendations(shop, in_b)["variant"] == "b"
    desk = shop.runtime.experiments
    assert desk is not None
    assert guard(desk) == []  # nothing broke a rule yet
    # The rule stage never lets a violation through, so one is written as the audit would
    # record a list of the variant that broke a rule.
    batch = TrackedBatch()
    batch.exposures.append(
        (str(uuid.uuid4()), experiment_id, "b", person_of(shop, in_b), ["P"], "personal", 1,
         int(time.time() * 1000))
    )  # fmt: skip
    BehaviourTables(chdb(shop)).write(batch)
    stopped = guard(desk)
    assert stopped == [
        {
            "experiment": experiment_id,
            "variant": "b",
            "reason": "guardrail: rule violations: 1 served suggestion(s) broke a rule "
            "(the guardrail allows none)",
        }
    ]
    answer = recommendations(shop, in_b)
    assert (answer["experiment"], answer["variant"]) == (experiment_id, "control")
    with admin(shop) as client:
        found = client.get(f"/experiments/{experiment_id}").json()
    b = next(v for v in found["variants"] if v["name"] == "b")
    assert b["status"] == "stopped" and b["stopped"]["reason"].startswith("guardrail:")
    assert guard(desk) == []  # stopped once


@pytest.mark.parametrize(
    ("changes", "status", "code", "said"),
    [
        (
            {"variants": [{"name": "a", "weight": 50, "policy": "standard"},
                          {"name": "b", "weight": 40, "policy": "standard"}]},
            422, "invalid-experiment", "weights sum to 90; expected 100",
        ),
        (
            {"variants": [{"name": "a", "weight": 50, "policy": "standard"},
                          {"name": "b", "weight": 50, "policy": "loudest"}]},
            422, "invalid-experiment", "no ranking policy 'loudest'",
        ),
        (
            {"variants": [{"name": "a", "weight": 50, "policy": "standard"},
                          {"name": "b", "weight": 50, "model": "v0042"}]},
            422, "invalid-experiment", "no model version 'v0042'",
        ),
        (
            {"variants": [{"name": "a", "weight": 50, "policy": "standard"},
                          {"name": "b", "weight": 50, "policy": "standard", "model": "v0001"}]},
            422, "invalid-request", "exactly one of model",
        ),
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, 422, "invalid-experiment", "ends_at"),
        ({"ends_at": "tomorrow"}, 422, "invalid-request", "ends_at"),
        ({"control": "z"}, 422, "invalid-experiment", "control: 'z' is not one of"),
    ],
)  # fmt: skip
def test_bad_definitions_get_a_problem_naming_what_was_wrong(
    shop: RunningLedger, changes: dict[str, Any], status: int, code: str, said: str
) -> None:
    with admin(shop) as client:
        response = client.post("/experiments", json=experiment_body(**changes))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith(code) and said in problem["detail"]


def test_other_refusals_are_problems_too(shop: RunningLedger) -> None:
    made = define(shop)
    with admin(shop) as client:
        overlap = client.post("/experiments", json=experiment_body(name="another"))
        assert overlap.status_code == 409 and overlap.json()["type"].endswith("experiment-overlaps")
        assert client.get("/experiments/not-an-id").status_code == 422
        unknown = client.get(f"/experiments/{uuid.uuid4()}")
        assert unknown.status_code == 404 and unknown.json()["type"].endswith("unknown-experiment")
        stop = client.post(f"/experiments/{uuid.uuid4()}/stop", json={"reason": "x"})
        assert stop.status_code == 404
        bad_variant = client.post(
            f"/experiments/{made['id']}/stop", json={"reason": "x", "variant": "nope"}
        )
        assert (
            bad_variant.status_code == 422 and "no variant 'nope'" in bad_variant.json()["detail"]
        )
        control = client.post(
            f"/experiments/{made['id']}/stop", json={"reason": "x", "variant": "control"}
        )
        assert control.status_code == 409
        assert client.post(f"/experiments/{made['id']}/stop", json={}).status_code == 422
        stopped = client.post(f"/experiments/{made['id']}/stop", json={"reason": "done"})
        assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
        listed = client.get("/experiments").json()["experiments"]
        assert [e["status"] for e in listed] == ["stopped"]
    analyst = auth_headers("analyst")
    refused = httpx.post(f"{shop.base_url}/experiments", json=experiment_body(), headers=analyst)
    assert refused.status_code == 403


def test_a_challenger_model_is_served_to_its_variant_only_once_published(
    shop: RunningLedger, tmp_path: Path, recs_url: str, models: Path
) -> None:
    """A model-version variant: nobody is placed while its candidates are unpublished; once
    published, its customers are served from that version (the answer names it), the
    control's from the serving one, and forgetting a customer removes their challenger
    entry too."""
    customers = consenting(shop, tmp_path, recs_url)  # v0001 serves
    runtime = shop.runtime
    store = RecommendationStore.from_url(recs_url)
    again = train_from_log(
        runtime.ledger, runtime.customers.ledger, models, datetime.now(UTC), store=store, force=True
    )
    assert again.version == "v0002" and again.promoted  # forced: v0002 serves, v0001 is old
    variants = [
        {"name": "control", "weight": 50, "policy": "standard"},
        {"name": "previous", "weight": 50, "model": "v0001"},
    ]
    made = define(shop, variants=variants)
    with admin(shop) as client:
        waiting = client.get(f"/experiments/{made['id']}").json()
    assert any("v0001" in reason for reason in waiting["waiting_for"]), waiting
    assert recommendations(shop, customers[0])["experiment"] is None  # not served yet

    signals, _fold, _new, _position = read_log(runtime.ledger, runtime.customers.ledger, None)
    published = publish_challenger(store, models, "v0001", signals, datetime.now(UTC))
    assert published > 0
    served: dict[str, set[str]] = {"control": set(), "previous": set()}
    for cid in customers[:40]:
        body = recommendations(shop, cid)
        assert body["experiment"] == made["id"]
        served[body["variant"]].add(body["model"])
    assert served == {"control": {"v0002"}, "previous": {"v0001"}}

    challenger = next(c for c in customers if store.challenger("v0001", c) is not None)
    post(shop, f"/customers/{challenger}/forget", {})
    deadline = time.monotonic() + 15  # the read side's erasure follows the customer log
    while store.challenger("v0001", challenger) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.challenger("v0001", challenger) is None
