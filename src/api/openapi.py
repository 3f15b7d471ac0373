"""The OpenAPI 3.1 document, generated from the same route lists the app is built from."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.callers import MAX_KEY_LENGTH
from api.query_parameters import openapi_parameters
from api.query_route import QueryRoute
from api.route_tables import (
    ACTION_POSTS,
    ALL_COMMAND_ROUTES,
    QUERY_ROUTES,
    READING_POSTS,
    STREAMING_POSTS,
)
from configuration.settings import DAY, IDEMPOTENCY_RETRY_WINDOW_SECONDS
from domain.channel_rules import CHANNELS

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
CHANNEL_HEADER = {
    "name": "X-Channel",
    "in": "header",
    "required": True,
    "schema": {"enum": list(CHANNELS)},
}
COMMAND_HEADERS = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
        "description": "Unique per command; a retry with the same key returns "
        "the first answer and changes nothing, for at least "
        f"{IDEMPOTENCY_RETRY_WINDOW_SECONDS // DAY} days after the first (answers are kept "
        "GLOW_RETAIN_COMMAND_ANSWERS, never less; after that the key may be reused)",
    },
    CHANNEL_HEADER,
    {"name": "X-Principal", "in": "header", "required": False, "schema": {"type": "string"}},
]


SIGNED_WEBHOOK_HEADERS: list[dict[str, Any]] = [
    {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }
    for name, description in (
        ("X-Survey-Source", "The sending tool, a source of GLOW_SURVEY_WEBHOOK_SECRETS"),
        ("webhook-id", "The delivery's id: its idempotency key"),
        ("webhook-timestamp", "Unix seconds; within 5 minutes of the ledger's clock"),
        ("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body> (Standard Webhooks)"),
    )
]


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


def openapi_document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (route.model, "validation")
        for route in [*ALL_COMMAND_ROUTES, *READING_POSTS, *ACTION_POSTS]
    ] + [(post.line_model, "validation") for post in STREAMING_POSTS]
    refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for route in ALL_COMMAND_ROUTES:
        ok = "201" if route.creates else "200"
        method = getattr(route, "method", "POST")
        paths.setdefault(route.path, {})[method.lower()] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": ("" if method == "POST" else method.lower() + "_")
            + _operation_id(route.path),
            "parameters": _path_parameters(route.path) + COMMAND_HEADERS,
            "requestBody": {
                "required": method == "POST",
                "content": {"application/json": {"schema": refs[(route.model, "validation")]}},
            },
            "responses": {
                ok: {
                    "description": "Done; repeated answers carry Idempotent-Replayed: true",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
            },
        }
    for streamed in STREAMING_POSTS:
        paths.setdefault(streamed.path, {})["post"] = {
            "summary": streamed.summary,
            "tags": [streamed.tag],
            "operationId": _operation_id(streamed.path),
            "parameters": [CHANNEL_HEADER, *_path_parameters(streamed.path)],
            "requestBody": {
                "required": True,
                "description": "One line per JSON object (application/x-ndjson), or a JSON array",
                "content": {
                    "application/x-ndjson": {"schema": refs[(streamed.line_model, "validation")]}
                },
            },
            "responses": {
                "200": {
                    "description": "A header line, one outcome per journal line, a summary",
                    "content": {"application/x-ndjson": {"schema": {"type": "object"}}},
                },
                **_problems(400, 401, 403, 404, 422),
            },
        }
    for post in READING_POSTS:
        paths.setdefault(post.path, {})["post"] = {
            "summary": post.summary,
            "tags": [post.tag],
            "operationId": _operation_id(post.path),
            "parameters": [CHANNEL_HEADER],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": refs[(post.model, "validation")]}},
            },
            "responses": {
                "200": {
                    "description": "The answer; nothing was held or recorded",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_problems(400, 401, 403, 404, 409, 413, 415, 422),
            },
        }
    for action in ACTION_POSTS:
        signed = SIGNED_WEBHOOK_HEADERS if action.signed else []
        operation: dict[str, Any] = {
            "summary": action.summary,
            "tags": [action.tag],
            "operationId": _operation_id(action.path),
            "parameters": _path_parameters(action.path) + signed,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": refs[(action.model, "validation")]}},
            },
            "responses": {
                str(action.ok): {
                    "description": "Done",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **_problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
            },
        }
        if action.signed:
            operation["security"] = []  # the signature authenticates it, not a bearer token
        paths.setdefault(action.path, {})["post"] = operation
    for query in QUERY_ROUTES:
        paths.setdefault(query.path, {})["get"] = _get_operation(query)
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


def _operation_id(path: str) -> str:
    return path.strip("/").replace("/", "_").replace("{", "").replace("}", "")


def _get_operation(query: QueryRoute) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": query.summary,
        "tags": [query.tag],
        "operationId": "get_" + _operation_id(query.path),
        "parameters": _path_parameters(query.path) + openapi_parameters(query.parameters),
        "responses": {
            "200": {
                "description": "OK",
                "content": {query.media_type: {"schema": _answer_schema(query.media_type)}},
            },
            **_problems(*query.problems),
        },
    }
    if query.description:
        operation["description"] = query.description
    return operation


def _answer_schema(media_type: str) -> dict[str, Any]:
    return {"type": "object"} if media_type == "application/json" else {"type": "string"}
