"""The Prometheus files in deploy/ pass promtool (Debian's `prometheus` package, which
scripts/test installs): the rules load, the alert unit tests (alerts_test.yml: the lag,
chain-verification, saturation and error-rate alerts evaluated over series) pass, the scrape
configuration loads with its rule file; the Grafana dashboard is an importable document."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import orjson

from tests.integration.metrics_scrape import DASHBOARD, PROMETHEUS

TOKEN_PATH = "/etc/prometheus/secrets/glowledger-operator-token"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    tool = shutil.which("promtool")
    assert tool is not None, (
        "promtool is missing: scripts/test installs it (apt-get install prometheus); "
        "the alert rules cannot be checked without it"
    )
    done = subprocess.run(
        [tool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    return said


def test_the_alert_rules_load() -> None:
    said = promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in said and "rules found" in said


def test_the_alerts_fire_when_and_only_when_their_unit_tests_say() -> None:
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


def test_a_broken_alert_expectation_fails_promtool(tmp_path: Path) -> None:
    """The unit tests can fail: the relay-lag test expecting no alert where one fires."""
    for name in ("alerts.yml", "alerts_test.yml"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    tests = (tmp_path / "alerts_test.yml").read_text()
    tests = tests.replace(
        "- eval_time: 8m\n        alertname: GlowRelayLagging",
        "- eval_time: 14m\n        alertname: GlowRelayLagging",
        1,
    )
    (tmp_path / "alerts_test.yml").write_text(tests)
    tool = shutil.which("promtool")
    assert tool is not None
    done = subprocess.run(
        [tool, "test", "rules", "alerts_test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "GlowRelayLagging" in done.stdout + done.stderr


def test_the_scrape_configuration_loads_with_its_rules_and_token_file(tmp_path: Path) -> None:
    promtool("check", "config", "--syntax-only", "prometheus.yml")
    token = tmp_path / "operator-token"
    token.write_text("a-token-for-the-check-only")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    assert TOKEN_PATH in config
    (tmp_path / "prometheus.yml").write_text(config.replace(TOKEN_PATH, str(token)))
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    said = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert "SUCCESS" in said and "16 rules found" in said


def test_the_dashboard_is_an_importable_grafana_document() -> None:
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    assert dashboard["uid"] and dashboard["title"] == "glowledger"
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    graphs = [p for p in panels if p["type"] != "row"]
    assert graphs and all(
        p["targets"] and p["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in graphs
    )
    for panel in graphs:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]
    titles = " ".join(p["title"] for p in panels).lower()
    for wanted in ("route", "queue depth", "commit latency", "lag", "webhook", "dead letters"):
        assert wanted in titles, wanted
