"""Who may confirm or release a reservation, decided on the reservation itself."""

from typing import Any

import pytest
from memory_uow import MemoryUnitOfWork
from shop import NOW, STORE, WAREHOUSE, line, open_shop, receive, reserve, trace

from domain import commands as c
from domain.errors import NotPermittedError
from domain.reservation import CONFIRMED, OPEN, RELEASED, Reservation
from domain.trace import Trace


def _placed_by(channel: str, where: str = WAREHOUSE) -> tuple[MemoryUnitOfWork, Any]:
    uow = open_shop()
    uow.run(receive(where=where))
    placed = reserve(line(2, where=where))
    by_channel = Trace(channel, "tester", NOW)
    uow.run(c.PlaceReservation(placed.reservation_id, placed.lines, placed.expires_at, by_channel))
    return uow, placed.reservation_id


def _act(kind: str, rid: Any, authority: c.Authority) -> c.Command:
    if kind == "confirm":
        return c.ConfirmReservation(rid, NOW, trace(), authority)
    return c.ReleaseReservation(rid, trace(), authority)


@pytest.mark.parametrize("kind", ["confirm", "release"])
def test_another_channel_may_not_act_on_a_reservation(kind: str) -> None:
    uow, rid = _placed_by("pos")
    with pytest.raises(NotPermittedError, match="placed by another channel"):
        uow.run(_act(kind, rid, c.Authority(channel="web")))
    assert uow.last_events == []
    uow.run(_act(kind, rid, c.Authority(channel="pos")))
    reservation = uow.get(rid)
    assert isinstance(reservation, Reservation)
    assert reservation.status == (CONFIRMED if kind == "confirm" else RELEASED)


def test_staff_act_only_where_the_reservation_holds_stock() -> None:
    uow, rid = _placed_by("web", STORE)
    with pytest.raises(NotPermittedError, match=f"stock at {STORE}"):
        uow.run(_act("release", rid, c.Authority(location=WAREHOUSE)))
    reservation = uow.get(rid)
    assert isinstance(reservation, Reservation) and reservation.status == OPEN
    uow.run(_act("release", rid, c.Authority(location=STORE)))
