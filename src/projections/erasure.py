"""Forget propagates: when a driver projects `Customer.Forgotten` (CustomerForgotten on the
`customer` topic), every read model drops or anonymises that customer.

A registry of erasers, each a function of the customer id and the stores the driver has
(`ReadStores`): an eraser whose store this driver lacks does nothing. Both drivers run them,
the hot-view sink with the hot views and the recommendations, the facts sink with ClickHouse,
each after the page's events are applied, so a sink that cannot be reached is retried with its
page and its erasure together. Every eraser is idempotent: a redelivery, a retry or a rebuild
that replays the customer log runs it again and changes nothing more.

What each built-in eraser reaches:
- the customer's own hot view `customer:<id>` is made a tombstone by its projector
  (projections/customer_views.py), which also keeps the order view from listing them again
  (projections/forgotten_guard.py);
- `orders`: the order view's index of the customer's orders (their orders stay, under the
  pseudonymous id, as in the log);
- `recommendations`: their published candidates in Redis (recommender/store.py's keys);
- `behaviour`: their rows in ClickHouse's behaviour tables (projections/behaviour_erasure.py);
- `segments`: their purchases and customer-dimension rows (projections/segment_erasure.py), so
  they are in no audience, as of any moment;
- `experiments`: the lists an experiment showed them and the link to their pseudonym
  (projections/experiment_erasure.py); their challenger candidates go with `recommendations`.
Another module registers its own with `register` (one name, one eraser).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from events.envelope import Envelope
from projections.behaviour_erasure import erase_behaviour
from projections.experiment_erasure import erase_experiments
from projections.hot_view_store import HotViewStore
from projections.order_listing import forget_customers
from projections.segment_erasure import erase_segments

if TYPE_CHECKING:
    from projections.clickhouse_facts import ClickHouseFacts

log = logging.getLogger(__name__)

FORGOTTEN = "Customer.Forgotten"


class Forgetting(Protocol):
    """A store that keeps something per customer id and can drop it (the recommendations)."""

    def forget(self, customer_id: str) -> None: ...


@dataclass(frozen=True)
class ReadStores:
    hot_views: HotViewStore | None = None
    analytics: ClickHouseFacts | None = None
    recommendations: Forgetting | None = None


Eraser = Callable[[str, ReadStores], None]
ERASERS: dict[str, Eraser] = {}


def register(name: str, eraser: Eraser) -> Eraser:
    """Add an eraser under `name` (registering a name again replaces its eraser)."""
    ERASERS[name] = eraser
    return eraser


def erase_customer(customer_id: str, stores: ReadStores) -> list[str]:
    """Run every eraser for one customer; returns the names run, in order."""
    for eraser in ERASERS.values():
        eraser(customer_id, stores)
    return list(ERASERS)


def forgotten_in(envelopes: Iterable[Envelope]) -> list[str]:
    """The customers a page forgets, in log order, once each."""
    return list(dict.fromkeys(e.aggregate_id for e in envelopes if e.type == FORGOTTEN))


def erase_forgotten(envelopes: Iterable[Envelope], stores: ReadStores) -> list[str]:
    """Erase every customer the page forgets from `stores`; returns their ids. A forget just
    made is erased from the behaviour tables once more a little later (`erase_late`)."""
    envelopes = list(envelopes)
    customers = forgotten_in(envelopes)
    for customer_id in customers:
        erase_customer(customer_id, stores)
        log.info("erased a forgotten customer from the read models", extra={"step": "erasure"})
    recent = [e.aggregate_id for e in envelopes if e.type == FORGOTTEN and just_made(e)]
    if recent and stores.analytics is not None:
        erase_late(recent, stores)
    return customers


# Behaviour decided before a forget committed may reach ClickHouse after the forget is
# projected: the API's buffer flushes every GLOW_TRACK_FLUSH_SECONDS (0.15), a worker writes a
# batch of the behaviour topic in well under a second. So the behaviour eraser runs again this
# long after a forget made within JUST_MADE of it being projected (a rebuild's old forgets
# are not erased twice). A backlog of the behaviour topic longer than this is not covered.
LATE_SECONDS = 5.0
JUST_MADE = timedelta(minutes=1)


def erase_late(customers: list[str], stores: ReadStores, after: float = LATE_SECONDS) -> None:
    def again() -> None:
        try:
            for customer_id in customers:
                _behaviour(customer_id, stores)
                _experiments(customer_id, stores)
        except Exception as error:  # the next forget's erasure or a rebuild covers it
            log.warning("erasing behaviour again failed: %s: %s", type(error).__name__, error)

    timer = threading.Timer(after, again)
    timer.daemon = True
    timer.start()


def just_made(envelope: Envelope) -> bool:
    try:
        made = datetime.fromisoformat(envelope.timestamp)
    except ValueError:
        return False
    if made.tzinfo is None:
        made = made.replace(tzinfo=UTC)
    return datetime.now(tz=UTC) - made < JUST_MADE


def _orders(customer_id: str, stores: ReadStores) -> None:
    if stores.hot_views is not None:
        forget_customers(stores.hot_views, [customer_id])


def _recommendations(customer_id: str, stores: ReadStores) -> None:
    if stores.recommendations is not None:
        stores.recommendations.forget(customer_id)


def _behaviour(customer_id: str, stores: ReadStores) -> None:
    if stores.analytics is not None:
        erase_behaviour(stores.analytics.client, customer_id)


register("orders", _orders)
register("recommendations", _recommendations)


def _segments(customer_id: str, stores: ReadStores) -> None:
    if stores.analytics is not None:
        erase_segments(stores.analytics.client, customer_id)


def _experiments(customer_id: str, stores: ReadStores) -> None:
    if stores.analytics is not None:
        erase_experiments(stores.analytics.client, customer_id)


register("behaviour", _behaviour)
register("segments", _segments)
register("experiments", _experiments)
