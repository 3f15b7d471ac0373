"""Command routes of holds that fit checkout, transfers in transit and pre-orders (issue 15,
items 5-6); appended to COMMAND_ROUTES."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from api import hold_builders as hb
from api import hold_models as h
from api import models as m
from api.command_route import RESERVATION, CommandRoute

PREORDER: dict[str, Callable[[str], Any]] = {"preorder_id": UUID}

HOLD_ROUTES = [
    CommandRoute(
        "/reservations/{reservation_id}/extend",
        h.ExtendReservationIn,
        hb.extend_reservation,
        "Hold a reservation longer (at most 3 times, 2 h from placing in all)",
        "reservations",
        path_params=RESERVATION,
    ),
    CommandRoute(
        "/reservations/{reservation_id}/order",
        h.ReservationToOrderIn,
        hb.reservation_to_order,
        "Turn a cart's reservation into an order; its units stay held throughout",
        "reservations",
        creates=True,
        path_params=RESERVATION,
    ),
    CommandRoute(
        "/transfers/dispatches",
        m.TransferIn,
        hb.dispatch_transfer,
        "Send stock to another location: in transit (visible, not sellable) until received",
        "stock",
    ),
    CommandRoute(
        "/transfers/{transfer_id}/receipt",
        h.TransferReceiptIn,
        hb.receive_transfer,
        "Receive a transfer in transit; what did not arrive is recorded as its shortfall",
        "stock",
        path_params={"transfer_id": UUID},
    ),
    CommandRoute(
        "/stock/expected-shipments/delay",
        h.ShipmentDelayIn,
        hb.delay_shipment,
        "An announced shipment comes later: each waiting pre-order is told",
        "stock",
    ),
    CommandRoute(
        "/stock/expected-shipments/cancel",
        h.ShipmentCancelIn,
        hb.cancel_shipment,
        "An announced shipment will not come: its waiting pre-orders are released",
        "stock",
    ),
    CommandRoute(
        "/skus/{sku}/preorders",
        h.PreorderSwitchIn,
        hb.switch_preorders,
        "Allow or stop a channel's pre-orders of a SKU",
        "preorders",
        path_params={"sku": str},
    ),
    CommandRoute(
        "/preorders",
        h.PreorderIn,
        hb.place_preorder,
        "Pre-order units of an announced shipment; allocated in order of placement on receipt",
        "preorders",
        creates=True,
    ),
    CommandRoute(
        "/preorders/{preorder_id}/confirm",
        h.PreorderActionIn,
        hb.confirm_preorder,
        "Confirm an allocated pre-order into a sale",
        "preorders",
        path_params=PREORDER,
    ),
    CommandRoute(
        "/preorders/{preorder_id}/release",
        h.PreorderActionIn,
        hb.release_preorder,
        "Release a pre-order (waiting or allocated)",
        "preorders",
        path_params=PREORDER,
    ),
]
