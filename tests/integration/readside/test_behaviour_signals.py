"""Recent behaviour read from real chDB as the recommender's implicit signals: who it counts
for (identified, stitched, never a shared device, never a customer without consent or
forgotten), the window and the cap; that it changes a consenting customer's candidates and no
one else's; that the rule stage still bars an allergen however much it was browsed; and that it
helps predict later purchases on the demo business, measured by the recommender's evaluation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from demo.browsing import browse, insert
from demo.business import generate
from domain.customer import Customer
from domain.trace import Trace
from projections.clickhouse_facts import connect
from recommender.behaviour_signals import BehaviourSource, BehaviourWindow
from recommender.customer_signals import CustomerFold
from recommender.evaluation import evaluate_log
from recommender.hybrid import fit
from recommender.inventory_signals import InventoryFold
from recommender.publishing import MemoryCandidates
from recommender.rules import RuleBook
from recommender.serving import Catalog, recommend
from recommender.signals import ADD_TO_CART, VIEW, LogSignals
from recommender.training import LogRead

# The behaviour tables as the shared contract defines them (ingestion's migration makes them).
BEHAVIOUR_TABLES = (
    "CREATE TABLE behaviour_events (event_id UUID, occurred_at DateTime64(3, 'UTC'),"
    " received_at DateTime64(3, 'UTC'), event LowCardinality(String),"
    " channel LowCardinality(String), person String, anonymous_id String, sku String,"
    " properties String) ENGINE = MergeTree ORDER BY (occurred_at, event_id)",
    "CREATE TABLE behaviour_people (customer_id String, person String,"
    " linked_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY customer_id",
    "CREATE TABLE behaviour_identities (anonymous_id String, person String,"
    " linked_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY anonymous_id",
)
EVENT_COLUMNS = ["event_id", "occurred_at", "received_at", "event", "channel", "person"]
EVENT_COLUMNS += ["anonymous_id", "sku", "properties"]
NOW = datetime(2026, 8, 1, tzinfo=UTC)
SKUS = {"S1-30ML": "S1", "S2-30ML": "S2", "S3-30ML": "S3"}


@pytest.fixture
def behaviour(analytics_url: str) -> Iterator[Client]:
    client = connect(analytics_url)
    for statement in BEHAVIOUR_TABLES:
        client.command(statement)
    try:
        yield client
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{client.database}` SYNC")
        client.close()


def track(
    client: Client, event: str, sku: str, days_ago: float, person: str = "", anonymous: str = ""
) -> None:
    at = NOW - timedelta(days=days_ago)
    row = [uuid.uuid4(), at, at, event, "web", person, anonymous, sku, "{}"]
    client.insert("behaviour_events", [row], EVENT_COLUMNS)


def link(client: Client, customer_id: str, person: str) -> None:
    client.insert(
        "behaviour_people", [[customer_id, person, NOW]], ["customer_id", "person", "linked_at"]
    )


def stitch(client: Client, anonymous_id: str, person: str) -> None:
    columns = ["anonymous_id", "person", "linked_at"]
    client.insert("behaviour_identities", [[anonymous_id, person, NOW]], columns)


def read(client: Client, customers: list[str], window: BehaviourWindow | None = None) -> Any:
    return BehaviourSource(client, window).read(customers, SKUS, NOW)


def test_identified_and_stitched_behaviour_counts_for_the_customer(behaviour: Client) -> None:
    link(behaviour, "C1", "p-ada")
    stitch(behaviour, "anon-phone", "p-ada")
    track(behaviour, "product_viewed", "S1-30ML", 1, person="p-ada")
    track(behaviour, "product_viewed", "S1-30ML", 15, person="p-ada")
    track(behaviour, "product_added_to_cart", "S2-30ML", 2, anonymous="anon-phone")
    track(behaviour, "recommendation_shown", "S3-30ML", 1, person="p-ada")  # not a signal
    track(behaviour, "product_viewed", "UNKNOWN-SKU", 1, person="p-ada")
    found = read(behaviour, ["C1"])
    got = {(i.customer_id, i.product_code, i.kind): i for i in found.interactions}
    assert set(got) == {("C1", "S1", VIEW), ("C1", "S2", ADD_TO_CART)}
    view = got[("C1", "S1", VIEW)]
    assert view.at == NOW - timedelta(days=1)  # the last view
    assert view.value == pytest.approx(1.5)  # 1 + the view 14 days (a half-life) earlier
    assert got[("C1", "S2", ADD_TO_CART)].value == pytest.approx(1.0)
    assert found.rows == 3 and not found.capped  # the unknown SKU's row is dropped


def test_a_shared_device_and_an_unstitched_one_count_for_no_one(behaviour: Client) -> None:
    link(behaviour, "C1", "p-ada")
    link(behaviour, "C2", "p-bo")
    stitch(behaviour, "anon-shared", "p-ada")
    stitch(behaviour, "anon-shared", "p-bo")
    track(behaviour, "product_viewed", "S1-30ML", 1, anonymous="anon-shared")
    track(behaviour, "product_viewed", "S2-30ML", 1, anonymous="anon-never-logged-in")
    assert read(behaviour, ["C1", "C2"]).interactions == []


def test_only_the_customers_asked_for_are_read(behaviour: Client) -> None:
    link(behaviour, "C1", "p-ada")
    link(behaviour, "C2", "p-bo")
    track(behaviour, "product_viewed", "S1-30ML", 1, person="p-ada")
    track(behaviour, "product_viewed", "S2-30ML", 1, person="p-bo")
    assert {i.customer_id for i in read(behaviour, ["C1"]).interactions} == {"C1"}
    assert read(behaviour, []).interactions == []


def test_the_window_and_the_cap_bound_what_is_read(behaviour: Client) -> None:
    link(behaviour, "C1", "p-ada")
    track(behaviour, "product_viewed", "S1-30ML", 40, person="p-ada")  # before the window
    track(behaviour, "product_viewed", "S2-30ML", 3, person="p-ada")
    track(behaviour, "product_viewed", "S3-30ML", 1, person="p-ada")
    track(behaviour, "product_viewed", "S3-30ML", -1, person="p-ada")  # after `until`
    assert {i.product_code for i in read(behaviour, ["C1"]).interactions} == {"S2", "S3"}
    capped = read(behaviour, ["C1"], BehaviourWindow(days=30, max_rows=1))
    assert [i.product_code for i in capped.interactions] == ["S3"] and capped.capped
    assert read(behaviour, ["C1"], BehaviourWindow(days=0)).interactions == []


def test_tables_not_made_yet_mean_no_behaviour(analytics_url: str) -> None:
    client = connect(analytics_url)
    try:
        source = BehaviourSource(client)
        assert not source.ready()
        assert source.read(["C1"], SKUS, NOW).interactions == []
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{client.database}` SYNC")
        client.close()


TRACE = Trace("web", "tester", NOW - timedelta(days=100))


def customer_log(*customers: Customer) -> LogRead:
    fold = CustomerFold()
    for customer in customers:
        events: list[Any] = customer.collect_events()
        for event in events:
            fold.take(event, SKUS)
    return LogRead(InventoryFold(sku_products=dict(SKUS)), fold, 0)


def consenting(name: str) -> Customer:
    customer = Customer.register(uuid.uuid4(), {"name": name}, TRACE)
    customer.grant_consent("personalisation", "v1", TRACE)
    return customer


def test_a_forgotten_customers_behaviour_is_never_read(behaviour: Client) -> None:
    ada, bo, cy = consenting("Ada"), consenting("Bo"), consenting("Cy")
    bo.withdraw_consent("personalisation", TRACE)
    cy.forget(TRACE)
    for customer, person in ((ada, "p-ada"), (bo, "p-bo"), (cy, "p-cy")):
        link(behaviour, str(customer.id), person)
        track(behaviour, "product_added_to_cart", "S1-30ML", 1, person=person)
    log = customer_log(ada, bo, cy)
    source = BehaviourSource(behaviour)
    signals, found = log.signals(source, NOW)
    # The recommender's own consent check: neither Bo (withdrawn) nor Cy (forgotten) is read.
    assert {i.customer_id for i in found.interactions} == {str(ada.id)}
    assert {i.customer_id for i in signals.consented().interactions} == {str(ada.id)}
    # Ingestion's erasure of the link: Ada's rows stay but can no longer be tied to her.
    behaviour.command(
        "DELETE FROM behaviour_people WHERE customer_id = {c:String}", parameters={"c": str(ada.id)}
    )
    assert source.read([str(ada.id)], SKUS, NOW).interactions == []
    assert log.signals(source, NOW)[0].interactions == []


def test_behaviour_of_a_customer_merged_away_counts_for_the_survivor(behaviour: Client) -> None:
    survivor, merged = consenting("Ada"), consenting("Ada again")
    survivor.absorb(merged, TRACE)
    link(behaviour, str(merged.id), "p-old")
    track(behaviour, "product_viewed", "S2-30ML", 1, person="p-old")
    signals, _ = customer_log(survivor, merged).signals(BehaviourSource(behaviour), NOW)
    assert [(i.customer_id, i.product_code) for i in signals.interactions] == [
        (str(survivor.id), "S2")
    ]


# --- on the demo business ------------------------------------------------------------------


@pytest.fixture(scope="module")
def business() -> Any:
    return generate(products=120, customers=400, seed=5)


def with_behaviour(signals: LogSignals, client: Client, until: datetime) -> LogSignals:
    allowed = [c for c, facts in signals.customers.items() if facts.may_personalise]
    found = BehaviourSource(client).read(allowed, signals.sku_products, until)
    return replace(signals, interactions=[*signals.interactions, *found.interactions])


def top(candidates: MemoryCandidates, customer_id: str, k: int = 10) -> list[str]:
    entry = candidates.customer(customer_id)
    assert entry is not None
    return [code for code, _ in entry["candidates"][:k]]


def test_behaviour_changes_a_consenting_customers_candidates_and_no_one_elses(
    behaviour: Client, business: Any
) -> None:
    signals = business.signals(until=NOW)
    ids = sorted(signals.customers)
    yes = next(c for c in ids if signals.customers[c].may_personalise)
    no = next(c for c in ids if not signals.customers[c].may_personalise)
    base = fit(signals, NOW)
    before = MemoryCandidates(base, signals)
    wanted = top(before, yes, 30)[-1]  # the model's thirtieth choice for them
    sku = signals.products[wanted].skus[0]
    for customer_id in (yes, no):
        link(behaviour, customer_id, f"p-{customer_id}")
        for days_ago in (1, 2, 3):
            track(behaviour, "product_added_to_cart", sku, days_ago, person=f"p-{customer_id}")
    browsed = with_behaviour(signals, behaviour, NOW)
    assert {i.customer_id for i in browsed.interactions} - {
        i.customer_id for i in signals.interactions
    } == set()
    added = [i for i in browsed.interactions if i.kind == ADD_TO_CART]
    assert [(i.customer_id, i.product_code) for i in added] == [(yes, wanted)]
    after = MemoryCandidates(fit(browsed, NOW), browsed)
    assert wanted not in top(before, yes) and wanted in top(after, yes, 5)
    assert before.customer(no) is None and after.customer(no) is None  # no personal list
    assert before.popular(None) == after.popular(None)  # what they are served is unchanged


def test_an_allergen_browsed_again_and_again_is_still_never_served(
    behaviour: Client, business: Any
) -> None:
    signals = business.signals(until=NOW)
    customer_id = next(
        c for c, f in sorted(signals.customers.items()) if f.may_personalise and f.allergies
    )
    allergen = signals.customers[customer_id].allergies[0]
    harmful = next(
        code
        for code, p in sorted(signals.products.items())
        if allergen in p.inci and not p.discontinued
    )
    link(behaviour, customer_id, "p-allergic")
    for days_ago in (1, 2, 3, 4, 5):
        track(
            behaviour,
            "product_viewed",
            signals.products[harmful].skus[0],
            days_ago,
            person="p-allergic",
        )
        track(
            behaviour,
            "product_added_to_cart",
            signals.products[harmful].skus[0],
            days_ago,
            person="p-allergic",
        )
    browsed = with_behaviour(signals, behaviour, NOW)
    candidates = MemoryCandidates(fit(browsed, NOW), browsed)
    assert harmful in top(candidates, customer_id, 5)  # the model took the hint...
    catalog = Catalog("test", RuleBook(browsed.products), dict(browsed.sku_products))
    served = recommend(browsed.customers[customer_id], candidates, catalog, limit=50)
    assert harmful not in {s.product_code for s in served.suggestions}  # ...the rules did not
    assert harmful in {e.product_code for e in served.excluded}


def test_behaviour_that_precedes_purchases_helps_predict_them(behaviour: Client) -> None:
    """The recommender's own time hold-out (two weeks after the cut) on the demo business,
    with and without the browsing of the 30 days before the cut."""
    business = generate(products=300, customers=2000, seed=7)
    insert(behaviour, browse(business))
    signals = business.signals(until=NOW + timedelta(days=14))
    without, _ = evaluate_log(signals, NOW)
    withb, _ = evaluate_log(with_behaviour(signals, behaviour, NOW), NOW)
    print("without behaviour", without.model.as_dict(), "with", withb.model.as_dict())
    assert withb.model.users == without.model.users > 200
    assert withb.model.precision_at_k > 1.15 * without.model.precision_at_k
    assert withb.model.recall_at_k > 1.15 * without.model.recall_at_k
    assert withb.model.auc > without.model.auc
