"""Reading Prometheus text as a scraper does (prometheus_client's own parser), and the metric
names a PromQL expression queries, for the metrics tests."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import orjson
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "glowledger.json"
PROMETHEUS = ROOT / "deploy" / "prometheus"

# Built by the API's edge middleware (another part of issue 17): the dashboard and the alerts
# query them; once that middleware is merged, the app's own scrape exports them too.
EXPECTED_FROM_EDGE = frozenset(
    {
        "glow_http_requests_total",
        "glow_http_request_duration_seconds_bucket",
        "glow_rate_limit_refusals_total",
    }
)
_NAME = re.compile(r"\bglow_[a-z0-9_]+")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in found, f"{name}{labels} not exported; exported: {sorted({n for n, _ in found})}"
    return found[key]


def sample_names(found: Samples) -> set[str]:
    return {name for name, _ in found}


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    response = httpx.get(url, headers=headers or {}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def dashboard_expressions() -> list[str]:
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [str(rule["expr"]) for group in rules["groups"] for rule in group["rules"]]


def queried_names(expressions: list[str]) -> set[str]:
    return {name for expression in expressions for name in _NAME.findall(expression)}
