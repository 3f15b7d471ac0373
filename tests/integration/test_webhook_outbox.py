"""The webhook outbox on a real PostgreSQL: a page derived twice adds nothing, one ordering
key is handed out one delivery at a time and in order, and two dispatchers claiming at once
never get the same delivery."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg
import pytest

from storage.migrations import apply_migrations
from storage.webhook_outbox import Delivery, FeedMarks, WebhookOutbox
from storage.webhook_subscriptions import SealedSecret, Subscription, SubscriptionBook

NOW = datetime(2026, 12, 3, tzinfo=UTC)
SUBSCRIBED: dict[WebhookOutbox, UUID] = {}  # each test's outbox -> its one subscription


@pytest.fixture
def outbox(scratch_database_url: str):
    apply_migrations(scratch_database_url)
    book = SubscriptionBook(scratch_database_url)
    subscription = Subscription(uuid4(), "http://127.0.0.1:9/h", ("stock.low",), None, 0)
    book.add(subscription, SealedSecret("k", b"sealed"))
    found = WebhookOutbox(scratch_database_url)
    SUBSCRIBED[found] = subscription.id
    yield found
    found.close()
    book.close()


def deliveries(outbox: WebhookOutbox, key: str, count: int, start: int = 0) -> list[Delivery]:
    sid = SUBSCRIBED[outbox]
    return [
        Delivery(f"msg_{key}_{n}", sid, "stock.low", key, b"{}", NOW)
        for n in range(start, start + count)
    ]


def total(outbox: WebhookOutbox) -> int:
    return sum(outbox.counts().values())


@pytest.mark.postgres
def test_a_page_derived_twice_adds_nothing_and_a_stale_follower_records_nothing(
    outbox: WebhookOutbox,
) -> None:
    page = deliveries(outbox, "a", 3)
    marks = FeedMarks([("marketplace", "LIP")], [])
    assert outbox.record_page("webhooks", 0, 10, page, marks)
    assert not outbox.record_page("webhooks", 0, 10, page, marks)  # another follower moved on
    with psycopg.connect(outbox.conninfo, autocommit=True) as conn:
        conn.execute("UPDATE webhook_positions SET position = 0")  # a crash before the record
    assert outbox.record_page("webhooks", 0, 10, page, marks)
    assert total(outbox) == 3
    assert outbox.position("webhooks") == 10


@pytest.mark.postgres
def test_one_ordering_key_is_handed_out_one_delivery_at_a_time_in_order(
    outbox: WebhookOutbox,
) -> None:
    outbox.add(deliveries(outbox, "a", 3) + deliveries(outbox, "b", 2))
    first = outbox.claim(10, 30)
    assert [c.message_id for c in first] == ["msg_a_0", "msg_b_0"]
    assert outbox.claim(10, 30) == []  # the heads are in flight: the rest waits
    outbox.failed(first[0].id, "HTTP 500", 0)
    outbox.delivered([first[1].id])
    again = outbox.claim(10, 30)
    assert [c.message_id for c in again] == ["msg_a_0", "msg_b_1"]
    assert again[0].attempts == 2


@pytest.mark.postgres
def test_two_dispatchers_claiming_at_once_never_share_a_delivery(
    outbox: WebhookOutbox, scratch_database_url: str
) -> None:
    for n in range(50):
        outbox.add(deliveries(outbox, f"k{n}", 1))
    claimed: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def claim(slot: int) -> None:
        mine = WebhookOutbox(scratch_database_url)
        barrier.wait()
        while found := mine.claim(5, 30):
            claimed[slot] += [c.message_id for c in found]
        mine.close()

    threads = [threading.Thread(target=claim, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = claimed[0] + claimed[1]
    assert len(everything) == len(set(everything)) == 50
