from __future__ import annotations

import httpx

from api.command_routes import COMMAND_ROUTES


def test_health_answers_ok_with_the_store_reachable(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["event_store"] == "postgresql"


def test_openapi_lists_every_command_route_with_a_request_body_schema(
    client: httpx.Client,
) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    schemas = document["components"]["schemas"]
    for route in COMMAND_ROUTES:
        post = paths[route.path]["post"]
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
        "/metrics",
    ):
        assert "get" in paths[path], path
