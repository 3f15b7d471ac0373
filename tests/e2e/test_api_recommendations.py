"""Recommendations end to end on PostgreSQL and Redis: a small synthetic business seeded through
the command API, the batch job reading the event log and publishing to Redis, the API serving
from Redis with reasons, session re-ranking, live consent and allergens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from configuration.settings import Settings
from demo.business import WAREHOUSE, Business, generate
from demo.formulas import FRAGRANCE
from demo.seeding import Seeder, seed
from recommender.store import RecommendationStore
from recommender.training import train_from_log
from recommender.vector_index import VectorIndex
from tests.e2e.ledger_server import RunningLedger, auth_headers, serve, token


@pytest.fixture
def shop(postgres_store: str, recs_url: str) -> Iterator[RunningLedger]:
    settings = Settings(event_store_url=postgres_store, hot_views_url="memory://")
    with serve(settings) as running:
        yield running


@pytest.fixture(params=["postgres_store", "sqlite_store"])
def any_shop(request: pytest.FixtureRequest, recs_url: str) -> Iterator[RunningLedger]:
    """The ledger on PostgreSQL and on the embedded SQLite store (its own access log)."""
    url = request.getfixturevalue(request.param)
    with serve(Settings(event_store_url=url, hot_views_url="memory://")) as running:
        yield running


def seeded(shop: RunningLedger) -> tuple[Business, dict[str, str]]:
    business = generate(products=40, customers=60, seed=11)

    async def run() -> dict[str, str]:
        async with httpx.AsyncClient(base_url=shop.base_url, timeout=60) as client:
            seeder = Seeder(client, token("admin"))
            await seed(seeder, business)
            return seeder.customer_ids

    return business, asyncio.run(run())


def trained(shop: RunningLedger, tmp_path: Path, recs_url: str) -> dict[str, Any]:
    runtime = shop.runtime
    store = RecommendationStore.from_url(recs_url)
    report = train_from_log(
        runtime.ledger, runtime.customers.ledger, tmp_path, datetime.now(UTC), store=store
    )
    return report.as_dict()


def recommendations(shop: RunningLedger, customer_id: str, query: str = "") -> dict[str, Any]:
    headers = auth_headers("customer", customer_id=customer_id, channel="web")
    response = httpx.get(
        f"{shop.base_url}/customers/{customer_id}/recommendations{query}", headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def post(shop: RunningLedger, path: str, body: dict[str, Any]) -> None:
    headers = {**auth_headers(), "Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    response = httpx.post(f"{shop.base_url}{path}", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text


def test_the_batch_job_publishes_and_the_api_serves_explained_safe_suggestions(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    business, ids = seeded(shop)
    report = trained(shop, tmp_path, recs_url)
    assert report["version"] == "v0001" and report["interactions"] > 300
    assert (tmp_path / "v0001" / "model.json").exists()
    consenting = [c for c in business.customers.values() if c.facts.personalisation]
    allergic = next(c for c in consenting if c.facts.allergies)
    body = recommendations(shop, ids[allergic.facts.customer_id])
    assert body["kind"] == "personal" and body["model"] == "v0001" and body["stock_checked"]
    assert len(body["suggestions"]) == 10
    for suggestion in body["suggestions"]:
        assert suggestion["reasons"]
        inci = {n.upper() for n in business.products[suggestion["product_code"]].facts.inci}
        assert not inci & set(allergic.facts.allergies)


def test_the_session_reranks_and_withdrawn_consent_stops_personal_suggestions_at_once(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    business, ids = seeded(shop)
    trained(shop, tmp_path, recs_url)
    person = next(c for c in business.customers.values() if c.facts.personalisation)
    cid = ids[person.facts.customer_id]
    before = recommendations(shop, cid)
    viewed = business.products[before["suggestions"][-1]["product_code"]].facts.skus[0]
    session = recommendations(shop, cid, f"?viewed={viewed}")
    assert any("which you viewed" in r for s in session["suggestions"] for r in s["reasons"])

    post(shop, f"/customers/{cid}/consents/withdraw", {"purpose": "personalisation"})
    after = recommendations(shop, cid)
    assert RecommendationStore.from_url(recs_url).customer(cid) is None
    assert after["kind"] == "popular"
    assert all(s["reasons"] == ["popular with our customers"] for s in after["suggestions"])


def test_a_new_customer_with_a_skin_profile_gets_a_personal_list_through_the_index_at_once(
    shop: RunningLedger, tmp_path: Path, recs_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registered after the last model, so nothing was published for them: their vector
    comes from their profile tags, their candidates from the published index (its HNSW
    graphs here: GLOW_RECOMMENDER_ANN_EXACT_UP_TO=0)."""
    monkeypatch.setenv("GLOW_RECOMMENDER_ANN_EXACT_UP_TO", "0")
    seeded(shop)
    trained(shop, tmp_path, recs_url)
    headers = {**auth_headers(), "Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    made = httpx.post(
        f"{shop.base_url}/customers",
        json={"name": "New Face", "email": "new@example.org"},
        headers=headers,
    ).json()
    cid = made["customer_id"]
    post(shop, f"/customers/{cid}/skin-profile", {"skin_type": "oily", "concerns": ["pores"]})
    without_consent = recommendations(shop, cid)
    assert without_consent["kind"] == "popular"
    post(
        shop,
        f"/customers/{cid}/consents/grant",
        {"purpose": "personalisation", "text_version": "1"},
    )
    store = RecommendationStore.from_url(recs_url)
    assert store.customer(cid) is None
    published = store.index()
    assert published is not None and published[0] == "v0001"
    assert not VectorIndex.from_bytes(published[1]).exact
    body = recommendations(shop, cid)
    assert body["kind"] == "personal" and body["model"] == "v0001"
    assert body["suggestions"] and all(
        "chosen for customers with your skin profile" in s["reasons"] for s in body["suggestions"]
    )
    assert any("suits oily skin" in s["reasons"] for s in body["suggestions"])  # with consent
    saved = VectorIndex.from_bytes((tmp_path / "v0001" / "vector_index.npz").read_bytes())
    user = saved.profile_vector(["skin:oily", "concern:pores"])
    assert user is not None
    best = [code for code, _ in saved.candidates(user, 10)]
    served = [s["product_code"] for s in body["suggestions"]]
    assert len(set(best) & set(served)) >= 5  # the profile's own best, bar rules and boosts
    no_skin_type = new_customer(shop, {"concerns": ["pores"]}, fragrance_free=False)
    grant(shop, no_skin_type)
    assert recommendations(shop, no_skin_type)["kind"] == "popular_for_skin_type"


# --- safety on every list, consented or not ------------------------------------------------

LIMONENE_NAMES = {"LIMONENE", "DIPENTENE", "DL-LIMONENE", "1-METHYL-4-METHYLVINYL-CYCLOHEXENE"}
SALICYLIC_NAMES = {"SALICYLIC ACID", "SODIUM SALICYLATE"}
FRAGRANCE_NAMES = {*FRAGRANCE, "AMYL CINNAMAL", "DIPENTENE", "1-METHYL-4-METHYLVINYL-CYCLOHEXENE"}
LABELLED = {  # products whose labels name an allergen or a fragrance as the EU lists allow
    "XA-DIPENTENE": ["AQUA", "GLYCERIN", "DIPENTENE"],
    "XA-METHYLVINYL": ["AQUA", "GLYCERIN", "1-METHYL-4-METHYLVINYL-CYCLOHEXENE"],
    "XA-SALICYLIC": ["AQUA", "GLYCERIN", "SALICYLIC ACID"],
    "XA-SALICYLATE": ["AQUA", "GLYCERIN", "SODIUM SALICYLATE"],
    "XF-AMYL": ["AQUA", "GLYCERIN", "AMYL CINNAMAL"],
    "XF-PARFUM": ["AQUA", "GLYCERIN", "PARFUM"],
}
SAFETY_RULES = {"allergen", "preference", "eu_restriction"}


def seeded_with_labelled_products(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> tuple[Business, dict[str, str]]:
    """The small business, the labelled products in stock, and a model trained on both."""
    business, ids = seeded(shop)
    for code, inci in LABELLED.items():
        variant = {"sku": f"{code}-30ML", "size": "30ML", "price": "19.00", "currency": "EUR"}
        product = {"product_code": code, "name": code, "brand": "Test", "category": "serum"}
        post(shop, "/products", {**product, "inci": inci, "skin_types": [], "variants": [variant]})
        receipt = {"sku": variant["sku"], "location": WAREHOUSE[0], "batch": "B1"}
        post(shop, "/stock/receipts", {**receipt, "expiry": "2030-01-01", "quantity": 20})
    trained(shop, tmp_path, recs_url)
    return business, ids


def catalog_inci(business: Business) -> dict[str, set[str]]:
    known = {code: set(p.facts.inci) for code, p in business.products.items()}
    return known | {code: set(inci) for code, inci in LABELLED.items()}


def new_customer(shop: RunningLedger, profile: dict[str, Any], fragrance_free: bool) -> str:
    headers = {**auth_headers(), "Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    email = f"{uuid.uuid4().hex[:10]}@example.org"
    made = httpx.post(
        f"{shop.base_url}/customers", json={"name": "Safe Face", "email": email}, headers=headers
    )
    cid = str(made.json()["customer_id"])
    post(shop, f"/customers/{cid}/skin-profile", profile)
    if fragrance_free:
        post(shop, f"/customers/{cid}/preferences", {"fragrance_free": True})
    return cid


def grant(shop: RunningLedger, cid: str) -> None:
    post(
        shop,
        f"/customers/{cid}/consents/grant",
        {"purpose": "personalisation", "text_version": "1"},
    )


def every_kind(
    shop: RunningLedger, business: Business, ids: dict[str, str], profile: dict[str, Any]
) -> dict[str, str]:
    """One customer with this profile per kind of list: popular (no consent), popular for
    their skin type (consent, no published entry, no skin type to score them from), personal
    (consent, published entry)."""
    popular = new_customer(shop, profile, fragrance_free=True)
    without_skin_type = {k: v for k, v in profile.items() if k != "skin_type"}
    for_skin = new_customer(shop, without_skin_type, fragrance_free=True)
    grant(shop, for_skin)
    person = next(
        c for c in business.customers.values() if c.facts.personalisation and c.facts.skin_type
    )
    known = ids[person.facts.customer_id]
    post(shop, f"/customers/{known}/skin-profile", {**profile, "skin_type": person.facts.skin_type})
    post(shop, f"/customers/{known}/preferences", {"fragrance_free": True})
    return {"popular": popular, "popular_for_skin_type": for_skin, "personal": known}


def test_every_kind_of_list_excludes_an_allergy_under_any_eu_name_and_fragrance_consented_or_not(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    business, ids = seeded_with_labelled_products(shop, tmp_path, recs_url)
    profile = {"skin_type": "oily", "allergies": ["limonene", "Salicylic Acid"]}
    inci = catalog_inci(business)
    session = "?limit=50&viewed=" + ",".join(f"{code}-30ML" for code in LABELLED)
    for kind, cid in every_kind(shop, business, ids, profile).items():
        for query in ("?limit=50", session):
            body = recommendations(shop, cid, query)
            assert body["kind"] == kind
            assert body["suggestions"]
            for suggestion in body["suggestions"]:
                label = inci[suggestion["product_code"]]
                assert not label & (LIMONENE_NAMES | SALICYLIC_NAMES | FRAGRANCE_NAMES)
            excluded = {e["product_code"]: e for e in body["excluded"]}
            for code in ("XA-DIPENTENE", "XA-METHYLVINYL", "XA-SALICYLIC", "XA-SALICYLATE"):
                assert excluded[code]["rule"] == "allergen", (kind, excluded[code])
                assert "which you are sensitive to" in excluded[code]["reason"]
            assert excluded["XF-AMYL"]["rule"] == "preference"
            assert excluded["XF-PARFUM"]["rule"] == "allergen"  # PARFUM may hold limonene
            assert "may hold LIMONENE" in excluded["XF-PARFUM"]["reason"]


def test_the_labelled_products_are_shown_to_a_customer_without_allergies_or_preferences(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    """The other tests' control: the products they see excluded do reach a list otherwise."""
    seeded_with_labelled_products(shop, tmp_path, recs_url)
    cid = new_customer(shop, {"skin_type": "oily"}, fragrance_free=False)
    shown = {s["product_code"] for s in recommendations(shop, cid, "?limit=50")["suggestions"]}
    assert set(LABELLED) <= shown


def test_withdrawing_consent_changes_the_ranking_but_not_the_exclusions(
    any_shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    shop = any_shop
    business, ids = seeded_with_labelled_products(shop, tmp_path, recs_url)
    cid = every_kind(shop, business, ids, {"allergies": ["DIPENTENE"]})["personal"]
    store = RecommendationStore.from_url(recs_url)
    shared = store.popular(None)
    before = recommendations(shop, cid, "?limit=50")
    post(shop, f"/customers/{cid}/consents/withdraw", {"purpose": "personalisation"})
    after = recommendations(shop, cid, "?limit=50")
    assert store.customer(cid) is None and store.popular(None) == shared  # no trace left
    assert cid not in httpx.get(f"{shop.base_url}/metrics").text
    assert (before["kind"], after["kind"]) == ("personal", "popular")

    def ranked(body: dict[str, Any]) -> list[tuple[str, float]]:
        return [(s["product_code"], s["score"]) for s in body["suggestions"]]

    def safety(body: dict[str, Any]) -> set[tuple[str, str]]:
        return {
            (e["product_code"], e["rule"]) for e in body["excluded"] if e["rule"] in SAFETY_RULES
        }

    assert ranked(before) != ranked(after)
    assert safety(before) == safety(after)
    assert {("XA-METHYLVINYL", "allergen"), ("XF-AMYL", "preference")} <= safety(after)
    accesses = httpx.get(f"{shop.base_url}/customers/{cid}/export", headers=auth_headers()).json()
    actions = [a["action"] for a in accesses["accesses"]]
    assert "read for personalisation" in actions
    assert any(a.startswith("read for protection") for a in actions)


def test_an_allergy_declared_before_a_merge_still_protects_the_person_under_either_id(
    shop: RunningLedger, tmp_path: Path, recs_url: str
) -> None:
    seeded_with_labelled_products(shop, tmp_path, recs_url)
    old = new_customer(shop, {"allergies": ["SALICYLIC ACID"]}, fragrance_free=True)
    kept = new_customer(shop, {"skin_type": "dry"}, fragrance_free=False)
    post(shop, "/customers/merges", {"source_id": old, "target_id": kept})
    for cid in (old, kept):
        body = recommendations(shop, cid, "?limit=50")
        assert body["customer_id"] == kept
        excluded = {e["product_code"]: e["rule"] for e in body["excluded"]}
        assert excluded["XA-SALICYLIC"] == excluded["XA-SALICYLATE"] == "allergen"
        assert excluded["XF-PARFUM"] == "preference"
    logged = shop.runtime.access_log.entries_for(uuid.UUID(old))  # their own data was read too
    assert any(entry.action.startswith("read for protection") for entry in logged)
