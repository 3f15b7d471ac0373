"""Continuous training end to end on PostgreSQL and Redis, with the API serving throughout: a
demo business's log grows through the command API; the follower (`glow recommend follow`'s
loop) makes a warm update that is promoted and published while requests keep answering 200;
a new customer and a new product are served from their features; a restarted follower
continues from what it saved; a corrupted batch (the judges' accounts buying what does not
suit their skin) makes a candidate that the gate refuses, recorded with its reason, never
published.

One story in a module fixture (seeding takes a while); each test reads one chapter of it."""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis

from configuration.settings import Settings
from demo.business import WAREHOUSE, Business, Happening, generate
from demo.seeding import Seeder, seed, send_history
from recommender import artefacts
from recommender.continuous import WARM, Cadence, ModelKeeper, Outcome
from recommender.lightfm_core import TrainingConfig
from recommender.publishing import PROFILE_ONLY
from recommender.serving_pointer import promotions, serving_version
from recommender.signals import PURCHASE, RETURN
from recommender.store import RecommendationStore
from recommender.training import train_from_log
from service_layer.recommender_follower import RecommenderFollower
from tests.e2e.conftest import REDIS_URL, scratch_database
from tests.e2e.ledger_server import RunningLedger, auth_headers, serve, token

SALES = (PURCHASE, RETURN)
FIRST_CUT = datetime(2026, 6, 1, tzinfo=UTC)
SECOND_CUT = datetime(2026, 9, 1, tzinfo=UTC)
ONE_THREAD = TrainingConfig(threads=1)
CADENCE = Cadence(interactions=100, seconds=900, retrain_hours=10_000)
CORRUPTED = 900
NEW_PRODUCT = "P-NEW"

pytestmark = pytest.mark.slow  # a shared story of about 40 s: CI's second pass


@dataclass
class Story:
    shop: RunningLedger
    business: Business
    ids: dict[str, str]
    root: Path
    store: RecommendationStore
    first: dict[str, Any] = field(default_factory=dict)
    newcomer: str = ""
    before_update: dict[str, Any] = field(default_factory=dict)
    promoted: Outcome | None = None
    answers: list[tuple[int, str | None]] = field(default_factory=list)
    restarted: dict[str, Any] = field(default_factory=dict)
    refused: Outcome | None = None
    rolled_back: dict[str, Any] = field(default_factory=dict)
    after_promotion: dict[str, Any] = field(default_factory=dict)
    after_refusal: dict[str, Any] = field(default_factory=dict)
    corrupted_buyers: list[str] = field(default_factory=list)


def post(shop: RunningLedger, path: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {**auth_headers(), "Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    response = httpx.post(f"{shop.base_url}{path}", json=body, headers=headers, timeout=30)
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


def ask(shop: RunningLedger, customer_id: str, query: str = "") -> httpx.Response:
    headers = auth_headers("customer", customer_id=customer_id, channel="web")
    url = f"{shop.base_url}/customers/{customer_id}/recommendations{query}"
    return httpx.get(url, headers=headers, timeout=30)


def send(shop: RunningLedger, ids: dict[str, str], happenings: list[Happening]) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=shop.base_url, timeout=60) as client:
            seeder = Seeder(client, token("admin"), customer_ids=ids)
            await send_history(seeder, happenings)

    asyncio.run(run())


def keeper(story: Story, resume: bool = True) -> ModelKeeper:
    runtime = story.shop.runtime
    return ModelKeeper(
        story.root,
        runtime.ledger,
        runtime.customers.ledger,
        story.store,
        config=ONE_THREAD,
        resume=resume,
    )


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    url = f"{REDIS_URL}?namespace={namespace}"
    patch = pytest.MonkeyPatch()
    patch.setenv("GLOW_RECOMMENDATIONS_URL", url)
    try:
        with scratch_database() as database:
            settings = Settings(event_store_url=database, hot_views_url="memory://")
            with serve(settings) as shop:
                yield tell(
                    shop, tmp_path_factory.mktemp("models"), RecommendationStore.from_url(url)
                )
    finally:
        patch.undo()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{namespace}:*"))
        if keys:
            client.delete(*keys)


def tell(shop: RunningLedger, root: Path, store: RecommendationStore) -> Story:
    business = generate(products=40, customers=200, seed=11)

    async def seeded() -> dict[str, str]:
        async with httpx.AsyncClient(base_url=shop.base_url, timeout=60) as client:
            seeder = Seeder(client, token("admin"))
            await seed(seeder, business, until=FIRST_CUT)
            return seeder.customer_ids

    story = Story(shop, business, asyncio.run(seeded()), root, store)
    runtime = shop.runtime
    report = train_from_log(
        runtime.ledger,
        runtime.customers.ledger,
        root,
        datetime.now(UTC),
        store=store,
        config=ONE_THREAD,
    )
    story.first = report.as_dict()
    cold_start(story)
    grow_and_promote(story)
    restart(story)
    corrupt_and_refuse(story)
    roll_back(story)
    return story


def cold_start(story: Story) -> None:
    """A new customer (a profile and the consent, nothing bought) and a new product that suits
    dry skin (no sale yet), both after the first model."""
    shop = story.shop
    made = post(shop, "/customers", {"name": "New Face", "email": "new.face@example.org"})
    story.newcomer = str(made["customer_id"])
    post(shop, f"/customers/{story.newcomer}/skin-profile", {"skin_type": "dry"})
    grant = {"purpose": "personalisation", "text_version": "1"}
    post(shop, f"/customers/{story.newcomer}/consents/grant", grant)
    model = next(p for p in story.business.products.values() if p.facts.skin_types == ("dry",))
    variant = {"sku": f"{NEW_PRODUCT}-30ML", "size": "30ML", "price": "21.90", "currency": "EUR"}
    product = {"product_code": NEW_PRODUCT, "name": "New Dew", "brand": model.brand}
    post(
        shop,
        "/products",
        {
            **product,
            "category": model.facts.category,
            "inci": list(model.facts.inci),
            "skin_types": ["dry"],
            "variants": [variant],
        },
    )
    receipt = {"sku": variant["sku"], "location": WAREHOUSE[0], "batch": "B1"}
    post(shop, "/stock/receipts", {**receipt, "expiry": "2030-01-01", "quantity": 50})
    answer = ask(shop, story.newcomer)
    assert answer.status_code == 200, answer.text
    story.before_update = answer.json()


def grow_and_promote(story: Story) -> None:
    """Two more months of sales; the follower's warm update is promoted while a client keeps
    asking for recommendations."""
    later = [h for h in story.business.happenings if FIRST_CUT <= h.at < SECOND_CUT]
    send(story.shop, story.ids, later)
    follower = RecommenderFollower(keeper(story), CADENCE)
    follower.start()
    asking = threading.Event()
    customers = [story.ids[c] for c in sorted(story.ids)][:10]

    def keep_asking() -> None:
        n = 0
        while not asking.is_set():
            answer = ask(story.shop, customers[n % len(customers)])
            model = answer.json().get("model") if answer.status_code == 200 else None
            story.answers.append((answer.status_code, model))
            n += 1

    client = threading.Thread(target=keep_asking)
    client.start()
    try:
        story.promoted = follower.step()
    finally:
        asking.set()
        client.join(30)
    for _ in range(5):  # after the promotion
        answer = ask(story.shop, customers[0])
        story.answers.append((answer.status_code, answer.json().get("model")))
    story.after_promotion = snapshot(story)


def snapshot(story: Story) -> dict[str, Any]:
    """What serves, what Redis publishes, the promotions, every published entry: as now."""
    serving = serving_version(story.root)
    return {
        "serving": serving.name if serving else None,
        "published": story.store.version(),
        "promotions": [p["version"] for p in promotions(story.root)],
        "entries": {demo: story.store.customer(real) for demo, real in story.ids.items()},
        "newcomer": ask(story.shop, story.newcomer, "?limit=20"),
        "folds": {p.name for p in story.root.glob("v*") if artefacts.has_fold(p)},
    }


def restart(story: Story) -> None:
    """A new follower process on the same folder: what it continues from."""
    before = keeper(story, resume=False)  # the whole log, from its start
    before.read()
    again = keeper(story)
    again.read()
    story.restarted = {
        "serving": again.serving.version if again.serving else None,
        "position": again.fold.position,
        "read_before": len(before.fold.interactions),
        "position_before": before.fold.position,
        "read_again": len(again.fold.interactions),
        "attempted_through": again.attempted_through,
        "unlearned": again.unlearned,
        "due": again.due(datetime.now(UTC), CADENCE),
    }


def corrupt_and_refuse(story: Story) -> None:
    """A batch of sales booked to the accounts of the customers who buy next, of products that
    do not suit their skin; then those customers' real purchases (the fresh hold-out)."""
    rest = [h for h in story.business.happenings if h.at >= SECOND_CUT]
    signals = story.business.signals()
    newest = rest[len(rest) // 2 :]  # where the fresh hold-out will be
    buyers = sorted(
        {
            h.customer_id
            for h in newest
            if h.kind == PURCHASE and signals.customers[h.customer_id].personalisation
        }
    )
    story.corrupted_buyers = buyers
    rng = random.Random(5)
    corrupted: list[Happening] = []
    needed: dict[str, int] = {}
    for n in range(CORRUPTED):
        customer = rng.choice(buyers)
        skin = signals.customers[customer].skin_type
        product = rng.choice(
            [p for p in story.business.products.values() if skin not in p.facts.skin_types]
        )
        sku = product.facts.skus[0]
        needed[sku] = needed.get(sku, 0) + 1
        at = SECOND_CUT + timedelta(minutes=n)
        code = product.facts.product_code
        corrupted.append(Happening(PURCHASE, customer, code, sku, WAREHOUSE[0], "web", at))
    for sku, units in needed.items():
        receipt = {"sku": sku, "location": WAREHOUSE[0], "batch": "B-BOT"}
        post(story.shop, "/stock/receipts", {**receipt, "expiry": "2030-01-01", "quantity": units})
    send(story.shop, story.ids, corrupted)
    send(story.shop, story.ids, rest)
    follower = RecommenderFollower(keeper(story), CADENCE)
    follower.start()
    story.refused = follower.step()
    story.after_refusal = snapshot(story)


def roll_back(story: Story) -> None:
    """An operator serves v0001 again (`glow recommend promote v0001`) while a follower runs."""
    running = RecommenderFollower(keeper(story), CADENCE)
    running.start()
    entry = keeper(story).promote("v0001", datetime.now(UTC), "checking an old model")
    answer = ask(story.shop, story.ids[sorted(story.ids)[0]])
    changed = running.keeper.refresh()
    story.rolled_back = {
        "entry": entry,
        "published": story.store.version(),
        "answered": answer.json().get("model"),
        "status": answer.status_code,
        "follower_saw_it": changed,
        "follower_serving": running.keeper.serving.version if running.keeper.serving else None,
    }


# --- the chapters ----------------------------------------------------------------------------


def test_the_first_model_is_promoted_without_a_judgement_and_published(story: Story) -> None:
    assert story.first["version"] == "v0001" and story.first["promoted"]
    assert story.first["reason"] == "no model was serving: the first version is promoted"
    record = artefacts.record(story.root / "v0001")
    assert record["kind"] == "full" and record["gate"]["promoted"]
    assert record["trained_interactions"] == record["interactions_read"]  # nothing held out


def test_a_warm_update_on_the_grown_log_is_promoted_and_served_without_a_failed_request(
    story: Story,
) -> None:
    outcome = story.promoted
    assert outcome is not None and outcome.kind == WARM
    assert outcome.promoted, outcome.reason
    assert outcome.version == "v0002" and outcome.reason.startswith("not worse on ")
    record = artefacts.record(story.root / "v0002")
    assert record["base"] == "v0001" and record["serving_when_judged"] == "v0001"
    holdout = record["holdout"]
    assert holdout["customers_judged"] >= 5 and holdout["interactions"] > 0
    assert record["trained_interactions"] == record["interactions_read"] - holdout["interactions"]
    gate = record["gate"]
    assert set(gate["candidate"]) == set(gate["serving"]) == {"p_at_10", "auc"}
    for metric, tolerance in gate["tolerance"].items():
        assert gate["difference"][metric] >= -tolerance
    now = story.after_promotion
    assert now["serving"] == "v0002" and now["published"] == "v0002"
    assert now["promotions"] == ["v0001", "v0002"]

    statuses = {status for status, _ in story.answers}
    assert statuses == {200}, story.answers  # no request failed while promoting
    models = [model for _, model in story.answers]
    assert set(models) <= {"v0001", "v0002"} and models[-1] == "v0002"
    first_new = models.index("v0002")
    assert all(model == "v0002" for model in models[first_new:])  # never back to the old


def test_a_new_customer_and_a_new_product_are_served_from_their_features(story: Story) -> None:
    # No entry published yet: scored from the profile through the serving model's index.
    early = story.before_update
    assert early["kind"] == "personal" and early["model"] == "v0001"
    assert all(PROFILE_ONLY in s["reasons"] for s in early["suggestions"])
    answer = story.after_promotion["newcomer"]
    assert answer.status_code == 200
    body = answer.json()
    assert body["kind"] == "personal" and body["model"] == "v0002"
    assert all(PROFILE_ONLY in s["reasons"] for s in body["suggestions"])

    model, _ = artefacts.load(story.root / "v0002")
    first, _ = artefacts.load(story.root / "v0001")
    assert NEW_PRODUCT in model.product_codes and NEW_PRODUCT not in first.product_codes
    ranks: dict[str, list[int]] = {"dry": [], "oily": []}
    for demo_id, customer in story.business.customers.items():
        skin = customer.facts.skin_type
        entry = story.after_promotion["entries"][demo_id]
        if skin in ranks and entry is not None:
            codes = [code for code, _ in entry["candidates"]]
            ranks[skin].append(codes.index(NEW_PRODUCT))
    assert ranks["dry"] and ranks["oily"]
    assert np.mean(ranks["dry"]) < np.mean(ranks["oily"])  # its tags: it suits dry skin


def test_a_restarted_follower_continues_from_the_serving_version_and_its_attempts(
    story: Story,
) -> None:
    again = story.restarted
    assert again["serving"] == "v0002"
    assert again["read_again"] == again["read_before"]  # resumed from the saved fold: the
    assert again["position"] == again["position_before"]  # same interactions, same position
    record = artefacts.record(story.root / "v0002")
    assert again["attempted_through"] == record["interactions_read"]
    assert again["unlearned"] == record["interactions_read"] - record["trained_interactions"]
    assert again["due"] is None  # its last attempt was just now, with nothing new since


def test_a_corrupted_batch_makes_a_worse_candidate_that_is_refused_and_never_published(
    story: Story,
) -> None:
    outcome = story.refused
    assert outcome is not None and outcome.version == "v0003" and outcome.kind == WARM
    assert not outcome.promoted
    assert outcome.reason.startswith("worse on ") and "below the tolerance" in outcome.reason
    record = artefacts.record(story.root / "v0003")
    assert record["gate"]["promoted"] is False and record["gate"]["reason"] == outcome.reason
    assert record["base"] == "v0002"
    assert record["holdout"]["customers_judged"] >= 5
    held_from = datetime.fromisoformat(record["holdout"]["from"])
    assert held_from >= SECOND_CUT  # the hold-out is the real purchases after the batch
    now = story.after_refusal
    assert now["serving"] == "v0002" and now["published"] == "v0002"
    assert now["promotions"] == ["v0001", "v0002"]
    # Only the serving version keeps the log state (every interaction, by customer id).
    assert now["folds"] == {"v0002"}
    for demo_id in story.corrupted_buyers:
        entry = now["entries"][demo_id]
        assert entry is None or entry["model"] == "v0002"
    real = [h for h in story.business.happenings if h.at >= SECOND_CUT and h.kind in SALES]
    assert record["holdout"]["interactions"] <= len(real)  # within the real purchases


def test_an_operator_rolls_back_to_an_older_version_and_the_follower_follows(
    story: Story,
) -> None:
    rolled = story.rolled_back
    entry = rolled["entry"]
    assert entry["version"] == "v0001" and entry["how"] == "rollback"
    assert entry["previous"] == "v0002" and entry["reason"] == "checking an old model"
    assert rolled["published"] == "v0001"
    assert rolled["status"] == 200 and rolled["answered"] == "v0001"
    assert rolled["follower_saw_it"] and rolled["follower_serving"] == "v0001"
    assert serving_version(story.root) == story.root / "v0001"
    assert [p["how"] for p in promotions(story.root)] == ["first", "gate", "rollback"]
