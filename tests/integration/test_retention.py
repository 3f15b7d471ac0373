"""`glow retention apply` on a real PostgreSQL and Redis: old and new data of every kind are
seeded; a dry run reports the old ones per kind and changes nothing; applying removes exactly
the old ones, in batches, and leaves the event log, its chain and its verification as they were."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from cli.main import main
from configuration.settings import DAY, Settings
from recommender.store import TTL_SECONDS, RecommendationStore
from service_layer.retention import apply_retention
from tests.e2e.conftest import scratch_database
from tests.integration.audit_shop import open_shop
from tests.integration.conftest import required_url

NOW = datetime.now(tz=UTC)
OLD_DAYS = 400  # older than every default policy but the access log's six years
SUBSCRIPTION = uuid.uuid4()


@dataclass
class Seeded:
    url: str
    store: RecommendationStore
    redis_url: str
    models: Path


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _seed_tables(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO glow_command_answers "
            "(idempotency_key, fingerprint, status, response, recorded_at) VALUES "
            "('old-1', 'f', 201, '{}', %(old)s), ('old-2', 'f', 200, '{}', %(old)s), "
            "('edge-kept', 'f', 200, '{}', %(edge)s), ('new', 'f', 201, '{}', %(new)s)",
            {"old": ago(36), "edge": ago(34), "new": ago(1)},
        )
        conn.execute(
            "INSERT INTO pii_access_log (at, principal, role, action) VALUES "
            "(%s, 'dpo', 'admin', 'old read'), (%s, 'dpo', 'admin', 'recent read')",
            (ago(6 * 365 + 10), ago(OLD_DAYS)),
        )
        conn.execute(
            "INSERT INTO webhook_subscriptions (id, url, event_types, from_position, "
            "secret_key_id, secret_sealed) VALUES (%s, 'http://127.0.0.1:9/', "
            "ARRAY['stock.low'], 0, 'k', '\\x00')",
            (SUBSCRIPTION,),
        )
        rows = [
            ("delivered-old", "delivered", ago(OLD_DAYS), ago(OLD_DAYS)),
            ("delivered-new", "delivered", ago(2), ago(2)),
            ("dead-old", "dead", ago(OLD_DAYS), None),
            ("dead-new", "dead", ago(40), None),
            ("pending-old", "pending", ago(OLD_DAYS), None),
        ]
        for message, status, recorded, delivered in rows:
            conn.execute(
                "INSERT INTO webhook_deliveries (message_id, subscription_id, event_type, "
                "ordering_key, body, recorded_at, status, delivered_at) "
                "VALUES (%s, %s, 'stock.low', 'k', '{}', %s, %s, %s)",
                (message, SUBSCRIPTION, recorded, status, delivered),
            )
        conn.execute(
            "INSERT INTO marketplace_feed "
            "(channel, sku, changed_position, flushed_position, published_units, published_at) "
            "VALUES ('mp', 'STILL', 5, 5, 3, %(old)s), ('mp', 'WAITING', 9, 5, 3, %(old)s), "
            "('mp', 'MOVING', 7, 7, 1, %(new)s)",
            {"old": ago(OLD_DAYS), "new": ago(1)},
        )
        conn.execute(
            "INSERT INTO survey_deliveries (source, webhook_id, fingerprint, received_at) "
            "VALUES ('polls', 'msg-old', 'f1', %(old)s), ('polls', 'msg-new', 'f2', %(new)s)",
            {"old": ago(OLD_DAYS), "new": ago(1)},
        )


def _seed_recommendations(store: RecommendationStore) -> None:
    entries = {name: {"model": "v0002"} for name in ("fresh", "stale", "unknown-age")}
    store.publish("v0002", {}, {"any": []}, entries, [])
    store.client.expire(f"{store.prefix}customer:stale", TTL_SECONDS - 10 * DAY)
    store.client.expire(f"{store.prefix}customer:fresh", TTL_SECONDS - DAY)
    store.client.persist(f"{store.prefix}customer:unknown-age")


def _seed_models(root: Path) -> None:
    for version, days in (("v0001", 200), ("v0002", 150), ("v0003", 120), ("v0004", 100)):
        (root / version).mkdir(parents=True)
        document = {"version": version, "trained_until": ago(days).isoformat()}
        (root / version / "model.json").write_text(json.dumps(document))
        (root / version / "log_state.json").write_text('{"interactions": []}')


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    redis_url = required_url("GLOW_TEST_REDIS_URL")
    namespaced = f"{redis_url}?namespace=glow-retention-{secrets.token_hex(4)}"
    with scratch_database() as url:
        with open_shop(url) as shop:
            shop.receive("B1", 10)
            shop.sell(2)
        assert main(["--store", url, "chain"]) == 0
        _seed_tables(url)
        store = RecommendationStore.from_url(namespaced)
        _seed_recommendations(store)
        _seed_models(tmp_path / "models")
        try:
            yield Seeded(url, store, namespaced, tmp_path / "models")
        finally:
            for key in store.client.scan_iter(match=f"{store.prefix}*"):
                store.client.delete(key)
            store.client.close()


def _state(seeded: Seeded) -> dict[str, object]:
    """Everything retention may look at, and the event log it must never touch."""
    with psycopg.connect(seeded.url) as conn:

        def column(query: str) -> list[object]:
            return sorted(row[0] for row in conn.execute(query))  # type: ignore[arg-type]

        return {
            "answers": column("SELECT idempotency_key FROM glow_command_answers"),
            "access_log": column("SELECT action FROM pii_access_log"),
            "deliveries": column("SELECT message_id FROM webhook_deliveries"),
            "feed": column("SELECT sku FROM marketplace_feed"),
            "surveys": column("SELECT webhook_id FROM survey_deliveries"),
            "events": column(
                "SELECT encode(sha256(state), 'hex') || notification_id FROM inventory_events"
            ),
            "chain": column("SELECT encode(link, 'hex') FROM audit_chain"),
            "entries": sorted(
                key.decode().rpartition(":")[2]
                for key in seeded.store.client.scan_iter(match=f"{seeded.store.prefix}customer:*")
            ),
            "models": sorted(p.name for p in seeded.models.iterdir()),
        }


def _run(seeded: Seeded, *, dry_run: bool, batch: int = 1) -> dict[str, tuple[int, int]]:
    report = apply_retention(
        Settings(event_store_url=seeded.url),
        NOW,
        dry_run=dry_run,
        batch=batch,
        model_root=seeded.models,
        recommendations=seeded.redis_url,
    )
    return {kind.kind: (kind.found, kind.removed) for kind in report.kinds}


@pytest.mark.postgres
def test_a_dry_run_reports_the_old_data_of_each_kind_and_changes_nothing(seeded: Seeded) -> None:
    before = _state(seeded)

    counts = _run(seeded, dry_run=True)

    assert counts == {
        "command_answers": (2, 0),
        "pii_access_log": (1, 0),
        "webhook_deliveries": (1, 0),
        "webhook_dead_letters": (1, 0),
        "marketplace_feed": (1, 0),
        "survey_deliveries": (1, 0),
        "behaviour_data": (2, 0),
        "model_artefacts": (2, 0),
    }
    assert _state(seeded) == before


@pytest.mark.postgres
def test_applying_removes_exactly_the_old_data_in_batches_and_leaves_the_log_whole(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _state(seeded)

    counts = _run(seeded, dry_run=False, batch=1)  # one row a transaction: many batches

    assert {kind: removed for kind, (_, removed) in counts.items()} == {
        "command_answers": 2,
        "pii_access_log": 1,
        "webhook_deliveries": 1,
        "webhook_dead_letters": 1,
        "marketplace_feed": 1,
        "survey_deliveries": 1,
        "behaviour_data": 2,
        "model_artefacts": 2,
    }
    after = _state(seeded)
    assert after == {
        **before,
        "answers": ["edge-kept", "new"],
        "access_log": ["recent read"],
        "deliveries": ["dead-new", "delivered-new", "pending-old"],  # pending is never old
        "feed": ["MOVING", "WAITING"],  # a row with a change waiting is kept
        "surveys": ["msg-new"],
        "entries": ["fresh"],
        "models": ["v0002", "v0004"],  # the one Redis serves and the newest
    }
    assert after["events"] == before["events"] and after["chain"] == before["chain"]
    capsys.readouterr()
    assert main(["--store", seeded.url, "verify"]) == 0
    assert f"chain intact over {len(before['events'])} event(s)" in capsys.readouterr().err
    assert _run(seeded, dry_run=True) == dict.fromkeys(counts, (0, 0))  # idempotent


@pytest.mark.postgres
def test_the_command_prints_the_report_as_json(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOW_MODEL_DIR", str(seeded.models))
    monkeypatch.setenv("GLOW_RECOMMENDATIONS_URL", seeded.redis_url)
    monkeypatch.setenv("GLOW_RETAIN_PII_ACCESS_LOG", "300d")
    capsys.readouterr()

    assert main(["--store", seeded.url, "retention", "apply", "--dry-run", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True
    by_kind = {kind["kind"]: kind for kind in report["kinds"]}
    assert by_kind["pii_access_log"]["policy"] == "300d"
    assert by_kind["pii_access_log"]["older_than_cutoff"] == 2
    assert by_kind["command_answers"]["policy"] == "35d"
    assert by_kind["command_answers"]["removed"] == 0
    assert "untouched" in report["event_log"]
    assert _state(seeded)["access_log"] == ["old read", "recent read"]
