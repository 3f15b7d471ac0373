"""Webhook messages and their deliveries, the dispatcher's backoff and the feed's marks:
pure logic, no I/O."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.envelope import Envelope
from privacy.master_keys import MasterKeyError, MasterKeys
from service_layer.marketplace_feed import feed_marks
from service_layer.webhook_derivation import replenishment_alerts
from service_layer.webhook_dispatcher import DispatchPolicy
from service_layer.webhook_messages import Message, deliveries, message_id
from service_layer.webhook_subscribing import SECRET_PREFIX, seal, unseal
from storage.webhook_subscriptions import Subscription

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def message(channel: str | None = "web", position: int = 10, reports: str = "o:1") -> Message:
    return Message("order.status_changed", reports, "o", position, channel, NOW, {"x": 1})


def subscription(types: tuple[str, ...], channels: tuple[str, ...] | None, since: int = 0):
    return Subscription(uuid4(), "https://example.com/h", types, channels, since)


def test_a_message_goes_to_each_subscription_that_wants_its_type_channel_and_position() -> None:
    wanting = subscription(("order.status_changed",), None)
    web_only = subscription(("order.status_changed",), ("web",))
    pos_only = subscription(("order.status_changed",), ("pos",))
    other_type = subscription(("stock.low",), None)
    later = subscription(("order.status_changed",), None, since=10)
    found = deliveries([message()], [wanting, web_only, pos_only, other_type, later])
    assert [d.subscription_id for d in found] == [wanting.id, web_only.id]


def test_a_message_id_is_stable_and_differs_per_subscription_and_per_event() -> None:
    first, second = (
        subscription(("order.status_changed",), None),
        subscription(("order.status_changed",), None),
    )
    assert message_id(first.id, message()) == message_id(first.id, message())
    assert message_id(first.id, message()) != message_id(second.id, message())
    assert message_id(first.id, message()) != message_id(first.id, message(reports="o:2"))
    assert message_id(first.id, message()).startswith("msg_")


def test_a_body_carries_type_timestamp_and_data_in_the_standard_layout() -> None:
    assert message().body() == (
        b'{"type":"order.status_changed","timestamp":"2026-12-03T12:00:00+00:00","data":{"x":1}}'
    )


@given(attempts=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_a_retry_waits_between_half_and_all_of_a_doubling_capped_delay(
    attempts: int, seed: int
) -> None:
    policy = DispatchPolicy(backoff_seconds=1.0, backoff_cap_seconds=600.0, max_attempts=31)
    delay = policy.retry_delay(attempts, random.Random(seed))
    ceiling = min(600.0, 2.0 ** (attempts - 1))
    assert delay is not None and ceiling / 2 <= delay <= ceiling


def test_the_last_attempt_makes_a_dead_letter() -> None:
    policy = DispatchPolicy(max_attempts=3)
    assert policy.retry_delay(2, random.Random(1)) is not None
    assert policy.retry_delay(3, random.Random(1)) is None


def envelope(kind: str, subject: dict[str, str], payload: dict[str, object]) -> Envelope:
    return Envelope("a:1", 7, kind, "a", 1, NOW.isoformat(), 1, subject, payload)


def test_the_feed_marks_stock_changes_and_rules_that_move_a_marketplace() -> None:
    marks = feed_marks(
        [
            envelope("Stock.Sold", {"sku": "LIP-1", "location": "S1"}, {}),
            envelope("SalesChannel.RingFencedPoolSet", {"channel": "web"}, {"sku": "LIP-2"}),
            envelope("SalesChannel.MinimumShelfLifeSet", {"channel": "marketplace"}, {}),
            envelope("SalesChannel.MinimumShelfLifeSet", {"channel": "web"}, {}),
            envelope("Order.Placed", {}, {}),
        ]
    )
    assert list(marks.pairs) == [("marketplace", "LIP-1"), ("marketplace", "LIP-2")]
    assert list(marks.whole_channels) == ["marketplace"]


def test_a_components_change_marks_its_kits_and_a_kits_definition_marks_the_kit() -> None:
    kits = {"LIP-1": ("DUO", "TRIO"), "LIP-2": ("TRIO",)}
    marks = feed_marks(
        [
            envelope("Stock.Sold", {"sku": "LIP-1", "location": "S1"}, {}),
            envelope("Kit.Recomposed", {"sku": "GIFT"}, {"components": {"LIP-2": 1}}),
        ],
        lambda sku: kits.get(sku, ()),
    )
    assert list(marks.pairs) == [
        ("marketplace", "DUO"),
        ("marketplace", "GIFT"),
        ("marketplace", "LIP-1"),
        ("marketplace", "TRIO"),
    ]


def test_a_sealed_secret_opens_only_for_its_own_subscription() -> None:
    keys = MasterKeys.from_text(MasterKeys.generate())
    mine, other = uuid4(), uuid4()
    secret = SECRET_PREFIX + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
    sealed = seal(keys, mine, secret)
    assert secret.encode() not in sealed.sealed
    assert unseal(keys, mine, sealed) == secret
    with pytest.raises(MasterKeyError):
        unseal(keys, other, sealed)


def test_a_replenishment_plan_gives_one_message_per_alert_of_the_types_wanted() -> None:
    alerts = [
        {"kind": "low_stock", "sku": "A", "location": "S", "runs_out_on": "2026-12-05"},
        {"kind": "expiry_risk", "sku": "A", "location": "S", "batch": "B1", "units_at_risk": 4},
        {"kind": "expiry_risk", "sku": "B", "location": "S", "batch": "B2", "units_at_risk": 1},
    ]
    plan = Envelope(
        "book:3", 42, "ReplenishmentBook.PlanRecorded", str(uuid4()), 3, NOW.isoformat(), 1,
        {"location": "S"}, {"run_id": "r1", "alerts": alerts, "made": [], "superseded": []},
    )  # fmt: skip
    both = replenishment_alerts(plan, {"replenishment.low_stock", "replenishment.expiry_risk"})
    assert [m.event_type for m in both] == [
        "replenishment.low_stock",
        "replenishment.expiry_risk",
        "replenishment.expiry_risk",
    ]
    assert len({m.reports for m in both}) == 3 and all(m.position == 42 for m in both)
    assert both[1].data["units_at_risk"] == 4 and both[1].data["run_id"] == "r1"
    risks = replenishment_alerts(plan, {"replenishment.expiry_risk"})
    assert [m.data["batch"] for m in risks] == ["B1", "B2"]
