"""The OpenAPI 3.1 document, generated from the same route lists the app is built from."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.audit_routes import AUDIT_PARAMETERS
from api.command_routes import COMMAND_ROUTES
from api.customer_routes import CUSTOMER_COMMAND_ROUTES, CUSTOMER_PARAMETERS, CUSTOMER_QUERIES
from api.query_parameters import Declared, openapi_parameters
from api.read_routes import READ_PARAMETERS, READ_QUERIES
from api.recommendation_routes import RECOMMENDATION_PARAMETERS

PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status", "detail"],
}
COMMAND_HEADERS = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "maxLength": 200},
        "description": "Unique per command; a retry with the same key returns "
        "the first answer and changes nothing",
    },
    {
        "name": "X-Channel",
        "in": "header",
        "required": True,
        "schema": {"enum": ["web", "app", "pos", "marketplace", "backoffice"]},
    },
    {"name": "X-Principal", "in": "header", "required": False, "schema": {"type": "string"}},
]
QUERIES: list[tuple[str, str, str]] = [
    ("/skus/{sku}/stock", "Stock of a SKU across all locations", "stock"),
    ("/skus/{sku}/stock/{location}", "Stock of a SKU at one location, per batch", "stock"),
    ("/reservations/{reservation_id}", "A reservation and its lines", "reservations"),
    ("/products/{product_code}", "A product and its variants", "catalog"),
    ("/locations", "Every registered location", "locations"),
    (
        "/customers/{customer_id}/recommendations",
        "Suggestions with reasons (personal with consent, else popular); allergies and a "
        "fragrance-free preference exclude on every list, each exclusion with its rule",
        "recommendations",
    ),
    ("/audit/{kind}/{key}/history", "An aggregate's events with who, why and when", "audit"),
    ("/audit/{kind}/{key}/as-of", "An aggregate's state as of an instant, by replay", "audit"),
    ("/audit/batches/{sku}/{batch}/trace", "Everything a batch went through (recall)", "audit"),
    ("/audit/chain", "The hash chain's head, the log's head, the latest checkpoint", "audit"),
    ("/audit/chain/verification", "Recompute the chain; the first discrepancy", "audit"),
    ("/audit/export", "The log as JSON Lines (application/x-ndjson)", "audit"),
    ("/health", 'Liveness (public): {"status": "ok"}', "operations"),
    (
        "/health/detail",
        "The event store's reachability, log head, writer queue, sweeper (operator, admin)",
        "operations",
    ),
    ("/metrics", "Prometheus metrics (operator, admin)", "operations"),
]

QUERY_PARAMETERS: Declared = {
    **READ_PARAMETERS,
    **AUDIT_PARAMETERS,
    **CUSTOMER_PARAMETERS,
    **RECOMMENDATION_PARAMETERS,
}


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {
            "description": "Problem",
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
        for s in statuses
    }


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]


ALL_COMMAND_ROUTES: list[Any] = [*COMMAND_ROUTES, *CUSTOMER_COMMAND_ROUTES]


def openapi_document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (route.model, "validation") for route in ALL_COMMAND_ROUTES
    ]
    refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for route in ALL_COMMAND_ROUTES:
        ok = "201" if route.creates else "200"
        paths.setdefault(route.path, {})["post"] = {
            "summary": route.summary,
            "tags": [getattr(route, "tag", "customers")],
            "operationId": route.path.strip("/")
            .replace("/", "_")
            .replace("{", "")
            .replace("}", ""),
            "parameters": _path_parameters(route.path) + COMMAND_HEADERS,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": refs[(route.model, "validation")]}},
            },
            "responses": {
                ok: {
                    "description": "Done; repeated answers carry Idempotent-Replayed: true",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
            },
        }
    customer_queries = [(path, summary, "customers") for path, _, summary in CUSTOMER_QUERIES]
    for path, summary, tag in [*QUERIES, *READ_QUERIES, *customer_queries]:
        paths.setdefault(path, {})["get"] = {
            "summary": summary,
            "tags": [tag],
            "operationId": "get_"
            + path.strip("/").replace("/", "_").replace("{", "").replace("}", ""),
            "parameters": _path_parameters(path)
            + openapi_parameters(QUERY_PARAMETERS.get(path, ())),
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_problems(401, 403, 404, 409, 422),
            },
        }
    schemas = dict(defs.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "glowledger",
            "version": "0.1.0",
            "description": "Event-sourced inventory ledger: commands and queries",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{"bearer": []}],
    }
