"""The logs of a real `glow serve` (JSON, the default) over a whole customer scenario on
PostgreSQL: register with email, name, phone and address, consent, read the profile, export,
forget. Every line is JSON; each request has its line with the request and trace ids, the
caller, the route template, the status and the latency; the customer's email, name, phone
and street appear nowhere."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.glow_process import glow_serve
from tests.e2e.ledger_server import auth_headers, ok

EMAIL, NAME, PHONE, STREET = (
    "Maelys.Quintrec-Abgrall@example.org",
    "Maelys Quintrec-Abgrall",
    "+33 6 71 82 93 04",
    "17 venelle Tromeur-Kervella",
)
PERSONAL = [
    "maelys",
    "quintrec",
    "abgrall",
    "tromeur",
    "kervella",
    "671829304",
    "71 82 93 04",
    "6.71.82.93.04",
]
REQUEST_FIELDS = {
    "request_id",
    "trace_id",
    "method",
    "route",
    "status",
    "latency_ms",
    "subject",
    "role",
}


@pytest.fixture
def served(
    postgres_store: str, tmp_path: Path
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`glow serve` on a scratch database, its output in a file; JSON logs are the default."""
    settings = {"GLOW_RATE_LIMITS": "1", "GLOW_LOG_LEVEL": "INFO"}
    with glow_serve(postgres_store, tmp_path, log_name="serve.log", settings=settings) as glow:
        yield glow.base_url, glow.log, glow.process


def call(
    client: httpx.Client,
    method: str,
    path: str,
    role: str,
    body: dict[str, Any] | None = None,
    **claims: Any,
) -> httpx.Response:
    headers = {
        "Idempotency-Key": str(uuid.uuid4()),
        "X-Channel": "web",
        **auth_headers(role, **claims),
    }
    return client.request(method, path, json=body, headers=headers)


def test_a_customer_scenario_logs_one_json_line_per_request_and_no_personal_data(
    served: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    base_url, log, process = served
    with httpx.Client(base_url=base_url, timeout=30) as client:
        registration = {
            "name": NAME,
            "email": EMAIL,
            "phone": PHONE,
            "address": {"line1": STREET, "city": "Quimper", "postcode": "29000", "country": "FR"},
        }
        registered = client.post(
            "/customers",
            json=registration,
            headers={
                "Idempotency-Key": str(uuid.uuid4()),
                "X-Channel": "web",
                "X-Request-Id": "scenario-42",
                **auth_headers("channel", subject="web-shop", channel="web"),
            },
        )
        customer_id = ok(registered)["customer_id"]
        me = {"customer_id": customer_id, "channel": "web"}
        grant = {"purpose": "marketing_email", "text_version": "v1"}
        answers = [
            call(
                client, "POST", f"/customers/{customer_id}/consents/grant", "customer", grant, **me
            ),
            call(client, "GET", f"/customers/{customer_id}", "customer", **me),
            call(client, "GET", f"/customers/{customer_id}/export", "customer", **me),
            call(client, "POST", f"/customers/{customer_id}/forget", "customer", {}, **me),
            call(  # a ledger command: the command gateway's path
                client,
                "POST",
                "/locations",
                "admin",
                {
                    "code": "QP-1",
                    "name": "Quimper",
                    "kind": "store",
                    "latitude": 48.0,
                    "longitude": -4.1,
                },
            ),
        ]
        unmatched = client.get(f"/lookup/{EMAIL}", headers=auth_headers())
        by_email = client.get("/locations", headers=auth_headers("admin", subject=EMAIL))
        garbled = client.get("/health", headers={"X-Request-Id": "bad id with spaces"})
        metrics = client.get("/metrics", headers=auth_headers("operator")).text
    for answer in answers:
        ok(answer)
    assert unmatched.status_code == 404 and by_email.status_code == 200
    assert registered.headers["X-Request-Id"] == "scenario-42"
    assert re.fullmatch(r"[0-9a-f]{32}", garbled.headers["X-Request-Id"])

    # RED metrics by route template, both paths, unknown paths under one label
    for sample in (
        'glow_http_requests_total{method="POST",route="/locations",status="201"} 1.0',
        'glow_http_requests_total{method="POST",route="/customers",status="201"} 1.0',
        'glow_http_requests_total{method="GET",route="unmatched",status="404"} 1.0',
        'glow_http_request_duration_seconds_count{method="GET",'
        'route="/customers/{customer_id}"} 1.0',
    ):
        assert sample in metrics, sample
    assert EMAIL not in metrics and "/lookup" not in metrics

    process.terminate()  # a request's line is written once its answer is sent: all are in
    process.wait(15)
    text = log.read_text()
    lines = [orjson.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    requests = [line for line in lines if line.get("logger") == "glow.requests"]

    lowered = text.lower()
    leaked = [word for word in PERSONAL if word.lower() in lowered]
    assert leaked == [], f"personal data in the logs: {leaked}"
    assert len(requests) >= 10  # the health probes, the scenario, the three checks
    for line in requests:
        assert line.keys() >= REQUEST_FIELDS, line
        assert isinstance(line["latency_ms"], float | int) and line["latency_ms"] >= 0
    by_id = {line["request_id"]: line for line in requests}
    first = by_id["scenario-42"]
    assert first["route"] == "/customers" and first["method"] == "POST"
    assert first["status"] == 201 and first["subject"] == "web-shop" and first["role"] == "channel"
    routes = [(line["method"], line["route"], line["status"]) for line in requests]
    assert ("GET", "/customers/{customer_id}/export", 200) in routes
    assert ("POST", "/customers/{customer_id}/forget", 200) in routes
    assert ("POST", "/locations", 201) in routes  # through the command gateway
    assert ("GET", "unmatched", 404) in routes
    lookup = next(line for line in requests if line["route"] == "unmatched")
    assert lookup["path"] is None  # what a client typed is not logged
    emailed = next(
        line for line in requests if line["route"] == "/locations" and line["method"] == "GET"
    )
    assert emailed["subject"] == "[redacted]"
    assert by_id[garbled.headers["X-Request-Id"]]["route"] == "/health"
