"""`glow segments refresh` reads the customer log into the dimension (as a cron job would in
the cluster), and `glow segments rfm` prints what the API answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from cli.main import main
from configuration.settings import Settings
from domain.customer import Customer
from domain.trace import Trace
from service_layer.customer_store import close_customer_ledger, open_customer_ledger
from tests.e2e.ledger_server import TEST_MASTER_KEY

WEB = Trace("web", "tester", datetime(2026, 1, 1, tzinfo=UTC))


def test_refresh_fills_the_dimension_with_consenting_customers_only(
    tmp_path: Path,
    analytics_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    for name, value in {"GLOW_EVENT_STORE_URL": store, "GLOW_ANALYTICS_URL": analytics_url,
                        "GLOW_MASTER_KEY": TEST_MASTER_KEY}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    ledger = open_customer_ledger(Settings.from_env())
    consenting, other = (
        Customer.register(uuid.uuid4(), {"name": "A"}, WEB),
        Customer.register(uuid.uuid4(), {"name": "B"}, WEB),
    )
    consenting.grant_consent("analytics", "v1", WEB)
    other.grant_consent("marketing_email", "v1", WEB)
    ledger.save(consenting, other)
    close_customer_ledger(ledger)

    assert main(["segments", "refresh"]) == 0
    assert "4 customer event(s) read" in capsys.readouterr().out
    assert main(["segments", "refresh"]) == 0  # from its position: nothing new
    assert "(0 customer event(s) read)" in capsys.readouterr().out
    assert main(["segments", "cohorts"]) == 0
    cohorts = orjson.loads(capsys.readouterr().out)
    assert cohorts["skin_types"] == [
        {"skin_type": "unknown", "customers": 1, "buyers": 0, "revenue": 0.0}
    ]
    assert main(["segments", "rfm", "--as-of", "2999-01-01T00:00:00+00:00"]) == 2
