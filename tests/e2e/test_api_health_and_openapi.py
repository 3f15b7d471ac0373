from __future__ import annotations

import httpx
from starlette.routing import Route

from api.app import app_routes
from api.command_routes import COMMAND_ROUTES
from tests.e2e.ledger_server import RunningLedger, auth_headers


def test_health_answers_only_liveness_to_anyone(ledger: RunningLedger) -> None:
    response = httpx.get(ledger.base_url + "/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_the_health_detail_and_metrics_answer_operators_and_admins_only(
    ledger: RunningLedger,
) -> None:
    with httpx.Client(base_url=ledger.base_url, timeout=30) as http:
        for path in ("/health/detail", "/metrics"):
            assert http.get(path).status_code == 401
            shop = auth_headers("channel", channel="web")
            assert http.get(path, headers=shop).status_code == 403
        detail = http.get("/health/detail", headers=auth_headers("operator")).json()
        assert detail["status"] == "ok" and detail["event_store"] == "postgresql"
        assert detail["log_head"] >= 0 and "sweeper_position" in detail
        metrics = http.get("/metrics", headers=auth_headers("operator"))
        assert "glow_commands_committed_total" in metrics.text
        assert http.get("/metrics", headers=auth_headers("admin")).status_code == 200


def test_openapi_lists_every_command_route_with_a_request_body_schema(
    client: httpx.Client,
) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    schemas = document["components"]["schemas"]
    for route in COMMAND_ROUTES:
        post = paths[route.path][route.method.lower()]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        name = schema["$ref"].removeprefix("#/components/schemas/")
        assert name == route.model.__name__
        assert schemas[name]["type"] == "object"


def test_openapi_lists_the_query_routes(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/skus/{sku}/stock",
        "/skus/{sku}/stock/{location}",
        "/reservations/{reservation_id}",
        "/products/{product_code}",
        "/locations",
        "/health",
        "/health/detail",
        "/metrics",
    ):
        assert "get" in paths[path], path


def test_the_openapi_document_lists_every_route_of_the_app_and_nothing_else(
    client: httpx.Client,
) -> None:
    document = client.get("/openapi.json").json()
    documented = sorted(
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    )
    served = sorted(
        (method, route.path)
        for route in app_routes()
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    )
    assert documented == served


def test_the_openapi_document_tells_the_ledgers_stock_from_the_projected_one(
    client: httpx.Client,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/skus/{sku}/stock", "/skus/{sku}/stock/{location}"):
        assert "from the ledger (strongly consistent)" in paths[path]["get"]["summary"], path
    for path in ("/availability", "/availability/{sku}", "/availability/{sku}/nearest"):
        get = paths[path]["get"]
        assert get["summary"].startswith(("Projected", "Nearest location with projected")), path
        assert "behind" in get["description"] and "503" in get["responses"], path
