"""The channels' rules and kits reach the hot views through both drivers (embedded, Faust),
into Redis and the in-process store, redelivered; what a channel may sell, read from either
store, is what the ledger's aggregates say."""

from __future__ import annotations

from pathlib import Path

import pytest
import shop
from event_log import ShopLog
from test_channel_views import GIFT, PLAIN, Aggregates, opened

from domain import order_commands as o
from domain.channel_rules import CHANNELS
from domain.order_sourcing import channel_availability
from projections.channel_availability import channel_available_to_sell
from projections.hot_views import fold
from streams.embedded_driver import Sinks
from tests.integration.readside.test_drivers import Driver, deliveries, embedded, faust_agent


def ruled_day() -> ShopLog:
    """Every kind of SalesChannel and Kit event, over stock at three places."""
    log = opened()
    log.run(
        shop.receive(shop.RED, "B1", shop.LATER, 8),
        shop.receive(shop.RED, "B2", shop.SOON, 3, where=shop.STORE),
        shop.receive(shop.NUDE, "B1", shop.LATEST, 5, where="WH2"),
        shop.reserve(shop.line(2, shop.RED)),
    )
    sourcing = o.SourcingRules("priority", (shop.WAREHOUSE,), True, False)
    log.run(
        o.ChangeChannelRules(
            "marketplace",
            shop.trace(),
            sell_from=(shop.WAREHOUSE, shop.STORE),
            safety_buffers={shop.RED: 1},
            min_shelf_life_days=120,
            sourcing=sourcing,
        ),
        o.ChangeChannelRules("web", shop.trace(), ring_fenced_pools={shop.RED: 2, shop.NUDE: 1}),
        o.ChangeChannelRules("marketplace", shop.trace(), sell_from_everywhere=True),
        o.DefineKit(GIFT, {shop.RED: 2, shop.NUDE: 1}, shop.trace()),
        o.DefineKit(GIFT, {shop.RED: 1, shop.NUDE: 1}, shop.trace()),
    )
    return log


@pytest.mark.parametrize("driver", [embedded, faust_agent], ids=["embedded", "faust"])
def test_both_drivers_project_the_rules_and_kits_and_answer_as_the_ledger(
    driver: Driver, hot_views, tmp_path: Path
) -> None:
    log = ruled_day()
    driver(Sinks(hot_views=hot_views), deliveries(log.envelopes, 3), tmp_path)
    assert hot_views.all_documents() == {
        key: write.document for key, write in fold({}, log.envelopes).items()
    }
    assert hot_views.read([f"kit:{GIFT}"])[f"kit:{GIFT}"]["components"] == {
        shop.RED: 1,
        shop.NUDE: 1,
    }
    every = [*PLAIN, GIFT]
    for channel in CHANNELS:
        found = channel_available_to_sell(hot_views, channel, every, shop.TODAY)
        expected = {
            sku: channel_availability(Aggregates(log), channel, sku, shop.TODAY) for sku in every
        }
        assert found == expected, channel
    assert channel_available_to_sell(hot_views, "marketplace", [shop.RED], shop.TODAY) == {
        shop.RED: 3  # 8 - 2 held at the warehouse, less its buffer and the web's pool
    }
