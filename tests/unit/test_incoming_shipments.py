from datetime import date

from shop import RED, WAREHOUSE, open_shop, receive, stock, trace

from domain import commands as c


def expect(quantity=10, ref="PO-1"):
    return c.ExpectShipment(RED, WAREHOUSE, ref, quantity, date(2025, 3, 10), trace())


def test_an_expected_shipment_counts_as_incoming_not_on_hand():
    uow = open_shop()
    answer = uow.run(expect(10))
    assert answer.body["incoming"] == 10
    assert answer.body["on_hand"] == 0
    assert uow.event_types() == ["Stock.Opened", "Stock.IncomingShipmentExpected"]


def test_a_receipt_with_the_same_shipment_ref_settles_the_incoming_shipment():
    uow = open_shop()
    uow.run(expect(10))
    answer = uow.run(receive(quantity=10, shipment_ref="PO-1"))
    assert answer.body["incoming"] == 0
    assert answer.body["on_hand"] == 10
    assert stock(uow).incoming == {}


def test_a_partial_receipt_leaves_the_rest_incoming():
    uow = open_shop()
    uow.run(expect(10))
    answer = uow.run(receive(quantity=4, shipment_ref="PO-1"))
    assert answer.body["incoming"] == 6
    assert stock(uow).incoming == {"PO-1": 6}


def test_a_receipt_for_another_shipment_leaves_the_expected_one_incoming():
    uow = open_shop()
    uow.run(expect(10))
    uow.run(receive(quantity=10, shipment_ref="PO-2"))
    assert stock(uow).incoming == {"PO-1": 10}
    uow.run(receive(quantity=3))
    assert stock(uow).incoming == {"PO-1": 10}
