"""Auditors' routes over HTTP on PostgreSQL: history, as-of, batch trace, chain status and
verification, the export stream; unknown ids answer 404 and bad instants 422 as problems."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson

from cli.main import main
from configuration.settings import Settings
from tests.e2e.ledger_server import RunningLedger, auth_headers, serve, stocked_sku

SKU, SHOP = "SERUM-C", "SHOP-1"


def _stocked(client: httpx.Client) -> None:
    stocked_sku(client, SKU, SHOP, {"B1": 10})


def test_history_and_as_of_of_stock_at_a_location(client: httpx.Client) -> None:
    before = datetime.now(tz=UTC).isoformat()
    _stocked(client)
    events = client.get(f"/audit/stock/{SKU}@{SHOP}/history").json()["events"]
    assert [e["type"] for e in events] == ["Stock.Opened", "Stock.BatchReceived"]
    assert events[1]["trace"]["channel"] == "web"
    now = client.get(f"/audit/stock/{SKU}@{SHOP}/as-of").json()
    assert now["state"]["on_hand"] == 10
    assert now["basis"] == "recorded"
    across = client.get(f"/audit/stock/{SKU}/as-of", params={"at": now["modified_on"]}).json()
    assert across["on_hand"] == 10
    early = client.get(f"/audit/stock/{SKU}@{SHOP}/as-of", params={"at": before})
    assert early.status_code == 404
    assert early.headers["content-type"] == "application/problem+json"


def test_unknown_aggregates_answer_404_and_bad_instants_422(client: httpx.Client) -> None:
    assert client.get("/audit/stock/NOPE@NOWHERE/history").status_code == 404
    assert client.get("/audit/reservation/not-a-uuid/history").status_code == 422
    assert client.get("/audit/planet/mars/history").status_code == 422
    _stocked(client)
    bad = client.get(f"/audit/stock/{SKU}@{SHOP}/as-of", params={"at": "2026-01-01T00:00:00"})
    assert bad.status_code == 422
    assert "timezone" in bad.json()["detail"]
    assert client.get(f"/audit/batches/{SKU}/B9/trace").status_code == 404


def test_batch_trace_lists_the_sales_of_the_batch(client: httpx.Client) -> None:
    _stocked(client)
    sale = {"lines": [{"sku": SKU, "location": SHOP, "quantity": 2}], "source_ref": "r-1"}
    client.post("/sales", json=sale, headers={"Idempotency-Key": "s1", "X-Channel": "pos"})
    found = client.get(f"/audit/batches/{SKU}/B1/trace").json()
    assert [(s["quantity"], s["channel"]) for s in found["sales"]] == [(2, "pos")]


def test_chain_status_and_verification(client: httpx.Client, ledger: RunningLedger) -> None:
    _stocked(client)
    assert main(["--store", ledger.store_url, "chain"]) == 0
    status = client.get("/audit/chain").json()
    assert status["chain_head"] == status["log_head"] > 0
    verification = client.get("/audit/chain/verification").json()
    assert verification["intact"] is True
    assert verification["rows_checked"] == status["chain_head"]


def test_the_export_streams_json_lines(client: httpx.Client) -> None:
    _stocked(client)
    response = client.get("/audit/export", params={"after": "1"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert lines[0]["position"] == 2
    one = client.get("/audit/export", params={"kind": "stock", "key": f"{SKU}@{SHOP}"})
    assert len(one.content.splitlines()) == 2


def test_the_openapi_document_lists_the_audit_routes(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/audit/{kind}/{key}/as-of" in paths
    names = [p["name"] for p in paths["/audit/{kind}/{key}/as-of"]["get"]["parameters"]]
    assert names == ["kind", "key", "at", "basis"]
    assert "/audit/chain/verification" in paths


def test_the_embedded_sqlite_store_answers_history_but_has_no_chain(sqlite_store: str) -> None:
    with (
        serve(Settings(event_store_url=sqlite_store)) as running,
        httpx.Client(headers=auth_headers(), base_url=running.base_url, timeout=30) as client,
    ):
        _stocked(client)
        assert client.get(f"/audit/stock/{SKU}@{SHOP}/history").status_code == 200
        refused = client.get("/audit/chain/verification")
    assert refused.status_code == 501
    assert "PostgreSQL" in refused.json()["detail"]
