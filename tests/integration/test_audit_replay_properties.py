"""Replaying a random stock history to every prefix gives exactly the state the aggregate had
after that event, by version and by recorded instant (real PostgreSQL, hypothesis)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.time_travel import state_as_of, state_at_version
from domain import commands as c
from domain.errors import DomainError
from domain.ids import stock_id
from tests.e2e.conftest import scratch_database
from tests.integration.audit_shop import EXPIRY, SHOP, Shop, now, open_shop, trace

SKUS = (f"SKU-{n}" for n in itertools.count())

operations = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.sampled_from(["B1", "B2"]), st.integers(1, 9)),
        st.tuples(st.just("sell"), st.none(), st.integers(1, 6)),
        st.tuples(st.just("reserve"), st.none(), st.integers(1, 4)),
        st.tuples(st.just("confirm"), st.none(), st.just(0)),
        st.tuples(st.just("release"), st.none(), st.just(0)),
        st.tuples(st.just("adjust"), st.sampled_from(["B1", "B2"]), st.integers(-3, 3)),
        st.tuples(st.just("quarantine"), st.sampled_from(["B1", "B2"]), st.just(0)),
        st.tuples(st.just("recall"), st.sampled_from(["B1", "B2"]), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with scratch_database() as url, open_shop(url) as opened:
        yield opened


def _command(sku: str, op: tuple[str, str | None, int], open_ids: list[uuid.UUID]) -> Any:
    kind, batch, n = op
    if kind == "receive":
        return c.ReceiveBatch(sku, SHOP, batch or "B1", EXPIRY, n, None, trace())
    if kind == "sell":
        return c.SellDirect(uuid.uuid4(), (c.StockLine(sku, SHOP, n),), trace("pos"))
    if kind == "reserve":
        open_ids.append(uuid.uuid4())
        line = (c.StockLine(sku, SHOP, n),)
        return c.PlaceReservation(open_ids[-1], line, now() + timedelta(hours=1), trace("web"))
    if kind in ("confirm", "release"):
        if not open_ids:
            return None
        rid = open_ids.pop(0)
        if kind == "confirm":
            return c.ConfirmReservation(rid, now(), trace("app"))
        return c.ReleaseReservation(rid, trace("web"))
    if kind == "adjust":
        return c.AdjustStock(sku, SHOP, batch or "B1", n, None, trace())
    if kind == "quarantine":
        return c.QuarantineBatch(sku, SHOP, batch or "B1", trace())
    return c.RecallBatch(sku, batch or "B1", trace())


def _state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=operations)
def test_replay_to_every_prefix_gives_the_state_after_that_event(
    shop: Shop, history: list[tuple[str, str | None, int]]
) -> None:
    sku = next(SKUS)
    shop.run(c.AddVariant("P-SOAP", c.VariantSpec(sku, {}, Decimal("4.50"), "EUR"), trace()))
    shop.run(c.ReceiveBatch(sku, SHOP, "B1", EXPIRY, 5, None, trace()))
    aggregate_id = stock_id(sku, SHOP)
    seen = {2: _state(shop.ledger.repository.get(aggregate_id))}
    open_ids: list[uuid.UUID] = []
    for op in history:
        command = _command(sku, op, open_ids)
        try:
            if command is not None:
                shop.run(command)
        except DomainError:
            continue  # refused: appends nothing
        live = shop.ledger.repository.get(aggregate_id)
        seen[live.version] = _state(live)
    events = list(shop.ledger.events.get(aggregate_id))
    assert set(seen) == set(range(2, len(events) + 1))  # every prefix after the opening
    for version, state in seen.items():
        assert _state(state_at_version(shop.ledger, aggregate_id, version)) == state
        at = events[version - 1].timestamp
        if version == len(events) or events[version].timestamp > at:
            assert _state(state_as_of(shop.ledger, aggregate_id, at)) == state
