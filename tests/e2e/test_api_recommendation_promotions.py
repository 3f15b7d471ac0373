"""Promotions end to end on PostgreSQL and Redis: scheduled and withdrawn through the API (refusals
as problems), kept in the log and its audit history, read by the batch job into the published
catalog, and served: an active promotion on the request's channel moves its product up with its
reason; an expired one, or one on another channel, does not; a promoted allergen stays out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from demo.business import Business
from recommender.continuous import ModelKeeper
from recommender.promotion_boost import promoted
from recommender.ranking_policies import STANDARD
from recommender.serving import CatalogCache
from recommender.signals import CustomerFacts
from recommender.store import RecommendationStore
from tests.e2e.ledger_server import RunningLedger, auth_headers, headers, serve
from tests.e2e.test_api_recommendations import recommendations, seeded, trained

NOW = datetime.now(UTC)


@pytest.fixture
def shop(postgres_store: str, recs_url: str) -> Iterator[RunningLedger]:
    settings = Settings(event_store_url=postgres_store, hot_views_url="memory://")
    with serve(settings) as running:
        yield running


def schedule(
    shop: RunningLedger, code: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return httpx.post(
        f"{shop.base_url}/products/{code}/promotions",
        json=body,
        headers=headers(key, channel="backoffice"),
    )


def window(days_from: float, days_to: float, **more: Any) -> dict[str, Any]:
    return {
        "discount_percent": 20,
        "starts": (NOW + timedelta(days=days_from)).isoformat(),
        "ends": (NOW + timedelta(days=days_to)).isoformat(),
        **more,
    }


def test_promotions_round_trip_through_the_api_the_log_and_the_published_catalog(
    postgres_store: str, tmp_path: Path, recs_url: str
) -> None:
    with serve(Settings(event_store_url=postgres_store, hot_views_url="memory://")) as ledger:
        define = {
            "product_code": "GLOW-1",
            "name": "Glow serum",
            "brand": "Lumen",
            "category": "serum",
            "inci": ["AQUA", "GLYCERIN"],
            "variants": [{"sku": "GLOW-1-30", "price": "20.00"}],
        }
        made = httpx.post(f"{ledger.base_url}/products", json=define, headers=headers())
        assert made.status_code == 201, made.text
        key = str(uuid.uuid4())
        first = schedule(ledger, "GLOW-1", window(-1, 10, channels=["web"]), key)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["discount_percent"] == 20 and body["channels"] == ["web"]
        promotion_id = body["promotion_id"]
        again = schedule(ledger, "GLOW-1", window(-1, 10, channels=["web"]), key)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"

        overlapping = schedule(ledger, "GLOW-1", window(3, 20))
        assert overlapping.status_code == 409
        problem = overlapping.json()
        assert problem["type"].endswith("promotion-overlap")
        assert (
            promotion_id in problem["detail"] and "one promotion per channel" in problem["detail"]
        )
        elsewhere = schedule(ledger, "GLOW-1", window(3, 20, channels=["pos"], discount_percent=10))
        assert elsewhere.status_code == 201, elsewhere.text

        backwards = schedule(ledger, "GLOW-1", window(5, 2, channels=["app"]))
        assert backwards.status_code == 422 and "must end after it starts" in backwards.text
        too_much = schedule(ledger, "GLOW-1", window(1, 2, channels=["app"], discount_percent=100))
        assert too_much.status_code == 422 and "discount_percent" in too_much.text
        unknown = schedule(ledger, "NOPE", window(1, 2))
        assert unknown.status_code == 404
        as_channel = httpx.post(
            f"{ledger.base_url}/products/GLOW-1/promotions",
            json=window(30, 31),
            headers={
                **auth_headers("channel", channel="web"),
                "Idempotency-Key": "k",
                "X-Channel": "web",
            },
        )
        assert as_channel.status_code == 403

        withdrawn = httpx.request(
            "DELETE",
            f"{ledger.base_url}/products/GLOW-1/promotions/{elsewhere.json()['promotion_id']}",
            headers=headers(channel="backoffice"),
        )
        assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn"] is True
        missing = httpx.request(
            "DELETE",
            f"{ledger.base_url}/products/GLOW-1/promotions/{uuid.uuid4()}",
            headers=headers(channel="backoffice"),
        )
        assert missing.status_code == 404 and "has no promotion" in missing.json()["detail"]
        not_a_uuid = httpx.request(
            "DELETE",
            f"{ledger.base_url}/products/GLOW-1/promotions/x1",
            headers=headers(channel="backoffice"),
        )
        assert not_a_uuid.status_code == 422

        history = httpx.get(
            f"{ledger.base_url}/audit/product/GLOW-1/history", headers=auth_headers("auditor")
        )
        assert history.status_code == 200, history.text
        kinds = [e["type"] for e in history.json()["events"]]
        assert kinds.count("Product.PromotionScheduled") == 2
        assert kinds.count("Product.PromotionWithdrawn") == 1

        trained(ledger, tmp_path, recs_url)
        _, published = RecommendationStore.from_url(recs_url).catalog()
        promotions = published["GLOW-1"]["promotions"]
        assert [(p["promotion_id"], p["channels"]) for p in promotions] == [(promotion_id, ["web"])]

        httpx.post(
            f"{ledger.base_url}/products/GLOW-1/discontinue", json={}, headers=headers()
        ).raise_for_status()
        ended = schedule(ledger, "GLOW-1", window(40, 41))
        assert ended.status_code == 409 and ended.json()["type"].endswith("product-discontinued")


def test_an_active_promotion_moves_a_product_up_within_the_rules_with_its_reason(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    business, ids = seeded(shop)
    first = trained(shop, tmp_path, recs_url)
    person = next(
        c for c in business.customers.values() if c.facts.personalisation and not c.facts.allergies
    )
    cid = ids[person.facts.customer_id]
    before = recommendations(shop, cid, "?limit=50")["suggestions"]
    order_before = [s["product_code"] for s in before]
    on_web = _within_reach(order_before, person.facts, cid, recs_url)
    plain = [
        s["product_code"]
        for s in reversed(before)
        if s["product_code"] != on_web and not any("on promotion" in r for r in s["reasons"])
    ]
    on_pos, expired = plain[:2]
    assert schedule(shop, on_web, window(-1, 10, channels=["web"])).status_code == 201
    assert schedule(shop, on_pos, window(-1, 10, channels=["pos"])).status_code == 201
    past = {
        **window(-6, -2),
        "occurred_at": (NOW - timedelta(days=7)).isoformat(),  # an admin may backdate it
    }
    assert schedule(shop, expired, past).status_code == 201, "scheduled back then"
    allergen = _allergen_for_someone(business)
    assert schedule(shop, allergen[1], window(-1, 10)).status_code == 201
    published_catalog(shop, tmp_path, recs_url)  # the same model: only the promotions move

    answer = recommendations(shop, cid, "?limit=50")
    assert answer["model"] == first["version"]
    after = {s["product_code"]: s for s in answer["suggestions"]}
    order = list(after)
    assert order.index(on_web) < order_before.index(on_web)
    assert after[on_web]["reasons"][-1].startswith("on promotion: 20% off until ")
    for code in (on_pos, expired):
        assert not any("on promotion" in r for r in after[code]["reasons"])

    allergic_id, code, _ = allergen
    served = recommendations(shop, ids[allergic_id], "?limit=50")
    assert code not in [s["product_code"] for s in served["suggestions"]]
    assert any(e["product_code"] == code and e["rule"] == "allergen" for e in served["excluded"])


def test_a_promotion_reaches_the_api_without_waiting_for_a_new_model(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    """The catalog is published on its own when it changes (the follower does it at every
    step): the promotion moves its product up while the same model serves."""
    business, ids = seeded(shop)
    first = trained(shop, tmp_path, recs_url)
    person = next(c for c in business.customers.values() if c.facts.personalisation)
    cid = ids[person.facts.customer_id]
    before = recommendations(shop, cid, "?limit=50")
    order_before = [s["product_code"] for s in before["suggestions"]]
    code = _within_reach(order_before, person.facts, cid, recs_url)
    assert schedule(shop, code, window(-1, 10, channels=["web"])).status_code == 201
    keeper = published_catalog(shop, tmp_path, recs_url)
    assert not keeper.publish_catalog()  # published once
    after = recommendations(shop, cid, "?limit=50")
    assert after["model"] == before["model"] == first["version"]
    ranked = [s["product_code"] for s in after["suggestions"]]
    assert ranked.index(code) < order_before.index(code)
    reasons = next(s["reasons"] for s in after["suggestions"] if s["product_code"] == code)
    assert reasons[-1].startswith("on promotion: 20% off until ")


def published_catalog(shop: RunningLedger, models: Path, recs_url: str) -> ModelKeeper:
    """What the follower does at each step when the catalog changed: publish it, no model."""
    runtime = shop.runtime
    store = RecommendationStore.from_url(recs_url)
    keeper = ModelKeeper(models, runtime.ledger, runtime.customers.ledger, store)
    keeper.read()
    assert keeper.publish_catalog()  # the catalog read differs from the one published
    return keeper


def _within_reach(ranked: list[str], person: CustomerFacts, cid: str, recs_url: str) -> str:
    """The product of the lower half of `ranked` nearest in score to the one above it: the
    promotion's boost must lift it past that one. Its score is what serving computes (the
    published standardised candidate score, the demo's own promotions and the rules' boost for
    this person), checked against the order the API served before it is trusted."""
    store = RecommendationStore.from_url(recs_url)
    entry = store.customer(cid)
    assert entry is not None, "the batch job published this customer's candidates"
    rules = CatalogCache(store).current().rules
    published = [(str(code), float(score)) for code, score in entry["candidates"]]
    lifted, already = promoted(published, rules.products, STANDARD, datetime.now(UTC), "web")
    final = {c: score + rules.explain(person, c)[0] for c, score in lifted if c in ranked}
    assert sorted(ranked, key=lambda c: (-final[c], c)) == ranked, "serving's scores reproduced"
    lower = [n for n in range(max(1, len(ranked) // 2), len(ranked)) if ranked[n] not in already]
    nearest = min(lower, key=lambda n: final[ranked[n - 1]] - final[ranked[n]])
    gap = final[ranked[nearest - 1]] - final[ranked[nearest]]
    assert gap < STANDARD.promotion_boost, f"no product within reach of the boost ({gap:.3f})"
    return ranked[nearest]


def _allergen_for_someone(business: Business) -> tuple[str, str, str]:
    """A customer with an allergy and a product that contains it."""
    for customer in business.customers.values():
        for allergy in customer.facts.allergies:
            for product in business.products.values():
                if allergy in product.facts.inci and not product.facts.discontinued:
                    return customer.facts.customer_id, product.facts.product_code, allergy
    raise AssertionError("the demo business has no allergic customer with a matching product")
