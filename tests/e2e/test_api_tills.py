"""A till offline for an hour while the web shop reserves and sells the same lipstick, on
PostgreSQL through HTTP: the journal upload records every line once, in order, reconciles each
conflict by the store's policy with an event, loses nothing, and resumes after a cut."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.ledger_server import (
    EXPIRY_LATER,
    RunningLedger,
    auth_headers,
    count_events,
    headers,
    ok,
    receive,
)

LIP, STORE, WAREHOUSE, TILL = "LIP-T", "ST-TILL", "WH-TILL", "TILL-1"
POS = {"X-Channel": "pos", **auth_headers()}


def seed(
    client: httpx.Client,
    store_units: int = 5,
    steps: tuple[str, ...] = ("resource", "cancel_hold", "shortage"),
) -> None:
    """LIP at the store (`store_units`) and 2 at the warehouse, the till at the store, and
    the store's reconciliation `steps`."""
    product = {
        "product_code": "P-TILL",
        "name": "Till test",
        "brand": "Glow",
        "category": "lips",
        "variants": [{"sku": LIP, "price": "12.50"}],
    }
    ok(client.post("/products", json=product, headers=headers()))
    for code, kind, lat in ((STORE, "store", 52.37), (WAREHOUSE, "warehouse", 52.0)):
        place = {"code": code, "name": code, "kind": kind, "latitude": lat, "longitude": 4.9}
        ok(client.post("/locations", json=place, headers=headers()))
    receive(client, LIP, STORE, "S1", store_units, EXPIRY_LATER)
    receive(client, LIP, WAREHOUSE, "W1", 2, EXPIRY_LATER)
    ok(client.post("/tills", json={"till": TILL, "location": STORE}, headers=headers()))
    path = f"/locations/{STORE}/reconciliation-policy"
    ok(client.post(path, json={"steps": list(steps)}, headers=headers()))


@pytest.fixture
def shop(ledger: RunningLedger) -> Iterator[httpx.Client]:
    with httpx.Client(headers=auth_headers(), base_url=ledger.base_url, timeout=60) as client:
        seed(client)
        yield client


def sale(seq: int, quantity: int, minutes_ago: int = 50, sku: str = LIP) -> dict[str, Any]:
    at = datetime.now(tz=UTC) - timedelta(minutes=minutes_ago)
    return {
        "seq": seq,
        "type": "sale",
        "occurred_at": at.isoformat(),
        "lines": [{"sku": sku, "quantity": quantity}],
    }


def upload(client: httpx.Client, body: bytes, journal: str = "J1") -> list[dict[str, Any]]:
    answer = client.post(
        f"/tills/{TILL}/journals",
        content=body,
        headers={**POS, "Journal-Id": journal, "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    return [orjson.loads(line) for line in answer.content.splitlines()]


def jsonl(*lines: dict[str, Any]) -> bytes:
    return b"\n".join(orjson.dumps(line) for line in lines) + b"\n"


def stock(client: httpx.Client, location: str) -> dict[str, Any]:
    return ok(client.get(f"/skus/{LIP}/stock/{location}"))


def web_cart(client: httpx.Client, units: int) -> str:
    cart = {"lines": [{"sku": LIP, "location": STORE, "quantity": units}]}
    return str(ok(client.post("/reservations", json=cart, headers=headers()))["reservation_id"])


def test_an_offline_till_reconciles_with_the_web_shop_and_a_second_upload_changes_nothing(
    shop: httpx.Client, ledger: RunningLedger
) -> None:
    first_cart = web_cart(shop, 2)  # the web holds 2, then 3 more, while the till sells 4
    second_cart = web_cart(shop, 3)
    journal = jsonl(sale(1, 1, 55), sale(2, 3, 40))
    answers = upload(shop, journal)
    header, lines, summary = answers[0], answers[1:-1], answers[-1]["summary"]
    assert header == {"journal_id": "J1", "till": TILL}
    assert [line["outcome"] for line in lines] == ["applied", "applied"]
    assert summary == {"journal_id": "J1", "applied": 2}
    steps = [step["action"] for line in lines for step in line.get("reconciliation", [])]
    assert steps == ["resourced", "cancelled_hold", "resourced"]
    store = stock(shop, STORE)
    assert store["on_hand"] == 1  # 5 received, 4 sold at the till: nothing clamped
    report = ok(shop.get(f"/tills/{TILL}/journals/J1/report"))
    assert report["applied"]["sale"] == 2 and report["conflicted_lines"] >= 1
    assert all(c["steps"] for c in report["conflicts"])
    reservations = [ok(shop.get(f"/reservations/{r}")) for r in (first_cart, second_cart)]
    held_total = store["reserved"] + stock(shop, WAREHOUSE)["reserved"]
    open_units = sum(
        line["quantity"] for r in reservations if r["status"] == "open" for line in r["lines"]
    )
    assert held_total == open_units  # every open cart holds exactly its units, somewhere
    events = count_events(ledger.store_url)
    again = upload(shop, journal)
    assert [line["outcome"] for line in again[1:-1]] == ["already_recorded"] * 2
    assert count_events(ledger.store_url) == events
    assert stock(shop, STORE)["on_hand"] == 1


def test_a_journal_cut_off_mid_upload_resumes_and_applies_the_rest_once(
    shop: httpx.Client,
) -> None:
    full = jsonl(*(sale(seq, 1, 30) for seq in range(1, 5)))
    cut = full[: full.index(b"\n", full.index(b'"seq":3')) - 5]  # line 3 half sent
    answers = upload(shop, cut, "J-CUT")
    outcomes = [line["outcome"] for line in answers[1:-1]]
    assert outcomes == ["applied", "applied", "error"]
    assert stock(shop, STORE)["on_hand"] == 3
    resumed = upload(shop, full, "J-CUT")
    assert [line["outcome"] for line in resumed[1:-1]] == ["already_recorded"] * 2 + ["applied"] * 2
    assert stock(shop, STORE)["on_hand"] == 1


def test_bad_lines_get_their_own_errors_and_apply_nothing_wrong(shop: httpx.Client) -> None:
    future = sale(2, 1, minutes_ago=-60)
    body = b"\n".join(
        [
            orjson.dumps(sale(1, 1)),
            orjson.dumps(future),
            b"{not json",
            orjson.dumps(sale(3, 1, sku="NO-SUCH-SKU")),
            orjson.dumps(sale(3, 1)),
            orjson.dumps({"seq": 4, "type": "sale"}),
            orjson.dumps(sale(7, 1)),
        ]
    )
    lines = upload(shop, body, "J-BAD")[1:-1]
    by_order = [(line["seq"], line["outcome"]) for line in lines]
    assert by_order == [
        (1, "applied"),
        (2, "rejected"),
        (None, "error"),
        (3, "rejected"),
        (3, "error"),
        (4, "rejected"),
        (7, "error"),
    ]
    assert "later than the ledger's clock" in lines[1]["error"]
    assert (
        lines[6]["error"] == "till-sequence" and "earlier lines are missing" in lines[6]["detail"]
    )
    assert stock(shop, STORE)["on_hand"] == 4  # only line 1 sold


def test_an_unknown_till_is_a_404_problem(shop: httpx.Client) -> None:
    answer = shop.post("/tills/NO-TILL/journals", content=jsonl(sale(1, 1)), headers=POS)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "NO-TILL" in answer.json()["detail"]


def test_a_json_array_journal_is_read_like_json_lines(shop: httpx.Client) -> None:
    body = orjson.dumps([sale(1, 1), sale(2, 2)])
    lines = upload(shop, body, "J-ARRAY")[1:-1]
    assert [line["outcome"] for line in lines] == ["applied", "applied"]
    assert stock(shop, STORE)["on_hand"] == 2


def test_each_step_names_the_cart_and_its_channel(shop: httpx.Client) -> None:
    newest = web_cart(shop, 5)
    lines = upload(shop, jsonl(sale(1, 2)), "J-NAMES")[1:-1]
    step = lines[0]["reconciliation"][0]
    assert step["action"] == "resourced" and step["reservation_id"] == newest
    assert (step["channel"], step["to_location"], step["units"]) == ("web", WAREHOUSE, 2)
    cart = ok(shop.get(f"/reservations/{newest}"))
    assert sorted((line["location"], line["quantity"]) for line in cart["lines"]) == [
        (STORE, 3),
        (WAREHOUSE, 2),
    ]


def test_glow_tills_report_prints_the_report_the_api_answers(
    shop: httpx.Client, ledger: RunningLedger, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    web_cart(shop, 5)
    upload(shop, jsonl(sale(1, 1), sale(2, 1, sku="NO-SUCH-SKU")), "J-CLI")
    assert main(["--store", ledger.store_url, "tills", "report", TILL, "J-CLI"]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    assert printed == ok(shop.get(f"/tills/{TILL}/journals/J-CLI/report"))
    assert printed["rejected"][0]["seq"] == 2 and printed["conflicts"][0]["seq"] == 1
    assert main(["--store", ledger.store_url, "tills", "report", TILL, "J-NONE"]) == 1


def test_an_overlapping_upload_from_the_cut_applies_only_the_new_lines(
    shop: httpx.Client,
) -> None:
    upload(shop, jsonl(sale(1, 1), sale(2, 1)), "J-OVER")
    lines = upload(shop, jsonl(sale(2, 1), sale(3, 1)), "J-OVER")[1:-1]
    assert [line["outcome"] for line in lines] == ["already_recorded", "applied"]
    assert stock(shop, STORE)["on_hand"] == 2
    report = ok(shop.get(f"/tills/{TILL}/journals/J-OVER/report"))
    assert (report["lines"], report["first_seq"], report["last_seq"]) == (3, 1, 3)


def test_staff_of_another_store_may_not_upload_to_this_till(shop: httpx.Client) -> None:
    staff = {"X-Channel": "pos", **auth_headers("store-staff", location=WAREHOUSE)}
    answer = shop.post(f"/tills/{TILL}/journals", content=jsonl(sale(1, 1)), headers=staff)
    assert answer.status_code == 403
    assert stock(shop, STORE)["on_hand"] == 5
