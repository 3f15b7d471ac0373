"""The customer log on the read side: the customer hot view follows consents, loyalty and the
end of a customer (merged, forgotten); forgetting runs every eraser, idempotently, and keeps
the order view from listing the customer again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.customer import LOYALTY_TIERS, Customer
from domain.customer_rules import PURPOSES
from domain.trace import Trace
from events.envelope import Envelope, envelope_of
from events.published import EVENT_TOPICS, event_type_of
from projections import erasure
from projections.erasure import ReadStores, erase_customer, erase_forgotten
from projections.forgotten_guard import drop_forgotten_listings
from projections.hot_view_store import apply_batch
from projections.hot_views import ViewWrite
from projections.index_ops import IndexOp
from projections.memory_views import MemoryHotViews
from projections.order_views import BY_CUSTOMER

AT = Trace("web", "a-person@example.com", datetime(2026, 5, 1, 9, 30, tzinfo=UTC))


def envelopes_of(*customers: Customer, start: int = 1) -> list[Envelope]:
    events: list[Any] = [event for customer in customers for event in customer.collect_events()]
    found = []
    for position, event in enumerate(events, start=start):
        event_type = event_type_of(type(event).__qualname__)
        assert event_type is not None
        found.append(envelope_of(event, event_type, position, {}))
    return found


def registered() -> Customer:
    return Customer.register(uuid4(), {"name": "Ada Lovelace", "email": "ada@example.com"}, AT)


def view_of(views: MemoryHotViews, customer: Customer) -> dict[str, Any] | None:
    return views.read([f"customer:{customer.id}"])[f"customer:{customer.id}"]


def test_customer_events_go_to_the_customer_topic_without_personal_data_or_principal() -> None:
    customer = registered()
    customer.change_skin_profile({"skin_type": "dry", "allergies": ["LINALOOL"]}, AT)
    customer.give_feedback("SERUM-1", 2, "my cheeks burned", AT)
    customer.link_identity(uuid4(), "email", AT)
    customer.grant_consent("analytics", "v3", AT)
    envelopes = envelopes_of(customer)
    assert {EVENT_TOPICS[e.type] for e in envelopes} == {"customer"}
    document = b"".join(e.to_json() for e in envelopes)
    for secret in (b"Ada", b"ada@example.com", b"LINALOOL", b"burned", b"a-person", b"identity"):
        assert secret not in document
    granted = envelopes[-1]
    assert granted.payload == {
        "purpose": "analytics",
        "text_version": "v3",
        "trace": {
            "channel": "web",
            "occurred_at": "2026-05-01T09:30:00+00:00",
            "idempotency_key": None,
            "source_ref": None,
            "reason": None,
        },
    }


def test_the_customer_view_follows_consents_loyalty_and_a_merge() -> None:
    views, customer, target = MemoryHotViews(), registered(), registered()
    customer.grant_consent("analytics", "v1", AT)
    customer.grant_consent("marketing_email", "v1", AT)
    customer.withdraw_consent("marketing_email", AT)
    customer.change_loyalty_tier("gold", AT)
    customer.trigger_event(
        Customer.PointsEarned, points=300, reference="S-1", expires_on=date(2027, 5, 1), trace=AT
    )
    customer.trigger_event(Customer.PointsLost, points=40, reference="R-1", trace=AT)
    customer.trigger_event(Customer.PointsRedeemed, points=60, reference="O-2", trace=AT)
    customer.trigger_event(
        Customer.PointsExpired, points=100, expired_on=date(2027, 5, 1), trace=AT
    )
    apply_batch(views, envelopes_of(customer), "customer-projector", 9)
    assert view_of(views, customer) == {
        "status": "active",
        "consents": {"analytics": True, "marketing_email": False},
        "loyalty": {"points": 100, "tier": "gold"},
        "version": 9,
    }
    target.absorb(customer, AT)
    apply_batch(views, envelopes_of(customer, target, start=10), "customer-projector", 13)
    merged = view_of(views, customer)
    assert merged is not None
    assert (merged["status"], merged["merged_into"]) == ("merged", str(target.id))
    assert views.position("customer-projector") == 13


def test_a_forgotten_customer_leaves_a_tombstone_without_consents_or_loyalty() -> None:
    views, customer = MemoryHotViews(), registered()
    customer.grant_consent("personalisation", "v1", AT)
    customer.forget(AT)
    envelopes = envelopes_of(customer)
    apply_batch(views, envelopes, "customer-projector", len(envelopes))
    apply_batch(views, envelopes, "customer-projector", len(envelopes))  # redelivered
    assert view_of(views, customer) == {"status": "forgotten", "version": 3}


class Recommendations:
    def __init__(self, *customers: str) -> None:
        self.entries = set(customers)

    def forget(self, customer_id: str) -> None:
        self.entries.discard(customer_id)


def listed(views: MemoryHotViews, customer_id: str) -> list[str]:
    return [member for member, _ in views.ranked(BY_CUSTOMER + customer_id, None, 100)]


def order_listing(customer_id: str, order_id: str, version: int = 1) -> ViewWrite:
    """What the order view writes when an order of this customer is placed."""
    index = IndexOp("zadd", BY_CUSTOMER + customer_id, order_id, score=float(version))
    return ViewWrite(f"order:{order_id}", 0, {"version": version}, [index])


def test_forgetting_runs_every_eraser_and_again_changes_nothing() -> None:
    views, customer = MemoryHotViews(), registered()
    customer_id = str(customer.id)
    views.apply([order_listing(customer_id, "O-1")], "projector", 1)
    recommendations = Recommendations(customer_id, "someone-else")
    stores = ReadStores(hot_views=views, recommendations=recommendations)
    assert listed(views, customer_id) == ["O-1"]
    customer.forget(AT)
    envelopes = envelopes_of(customer)
    for _ in range(2):  # a redelivery, or a rebuild that replays the customer log
        assert erase_forgotten(envelopes, stores) == [customer_id]
        assert listed(views, customer_id) == []
        assert recommendations.entries == {"someone-else"}
    assert list(erasure.ERASERS) == [
        "orders",
        "recommendations",
        "behaviour",
        "segments",
        "experiments",
    ]


def test_an_eraser_registered_by_another_module_is_run_with_the_stores() -> None:
    seen: list[tuple[str, ReadStores]] = []
    stores = ReadStores()
    erasure.register("audiences", lambda customer_id, got: seen.append((customer_id, got)))
    try:
        assert erase_customer("c-1", stores)[-1] == "audiences"
    finally:
        del erasure.ERASERS["audiences"]
    assert seen == [("c-1", stores)]


def test_an_order_projected_after_the_forget_is_not_listed_as_the_customers() -> None:
    """The two logs are projected each at its own pace: the customer log's forget may come
    before the order log's placement; the tombstone keeps the order off their index."""
    views, customer, other = MemoryHotViews(), registered(), registered()
    customer.forget(AT)
    apply_batch(views, envelopes_of(customer, other), "customer-projector", 2)
    erase_forgotten(envelopes_of(), ReadStores(hot_views=views))
    late = [order_listing(str(customer.id), "O-9"), order_listing(str(other.id), "O-8")]
    drop_forgotten_listings(views.read, late)
    views.apply(late, "projector", 5)
    assert listed(views, str(customer.id)) == []
    assert listed(views, str(other.id)) == ["O-8"]


Step = tuple[str, str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.sampled_from(PURPOSES), st.just(0)),
        st.tuples(st.just("withdraw"), st.sampled_from(PURPOSES), st.just(0)),
        st.tuples(st.just("earn"), st.just(""), st.integers(1, 500)),
        st.tuples(st.just("redeem"), st.just(""), st.integers(1, 500)),
        st.tuples(st.just("tier"), st.sampled_from(LOYALTY_TIERS), st.just(0)),
    ),
    max_size=25,
)


def live(customer: Customer, step: Step) -> None:
    kind, name, points = step
    if kind == "grant":
        customer.grant_consent(name, "v1", AT)
    elif kind == "withdraw":
        customer.withdraw_consent(name, AT)
    elif kind == "earn":
        customer.trigger_event(
            Customer.PointsEarned,
            points=points,
            reference="S",
            expires_on=date(2027, 1, 1),
            trace=AT,
        )
    elif kind == "redeem":
        spent = min(points, customer.loyalty.balance)  # the domain never overdraws
        if spent:
            customer.trigger_event(Customer.PointsRedeemed, points=spent, reference="O", trace=AT)
    else:
        customer.change_loyalty_tier(name, AT)


@settings(max_examples=60, deadline=None)
@given(steps=steps, cuts=st.lists(st.integers(1, 30), max_size=6), forget=st.booleans())
def test_the_view_says_what_the_aggregate_says_however_the_log_is_paged(
    steps: list[Step], cuts: list[int], forget: bool
) -> None:
    customer, views = registered(), MemoryHotViews()
    for step in steps:
        live(customer, step)
    if forget:
        customer.forget(AT)
    envelopes = envelopes_of(customer)
    start = 0
    for cut in [*sorted(cuts), len(envelopes)]:  # pages, some overlapping (redelivered)
        page = envelopes[max(start - 1, 0) : cut]
        apply_batch(views, page, "customer-projector", page[-1].position if page else 0)
        start = max(start, cut)
    document = view_of(views, customer)
    if forget:
        assert document == {"status": "forgotten", "version": customer.version}
        return
    assert document is not None
    assert document["consents"] == {p: customer.has_consent(p) for p in customer.consents}
    assert document["loyalty"] == {
        "points": customer.loyalty.balance,
        "tier": customer.loyalty_tier,
    }
    assert document["version"] == customer.version
