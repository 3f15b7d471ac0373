"""The retention schedule: per kind of data the ledger keeps for a while, its policy (from
settings), the cutoff it gives now, and what is older; applied, or only reported (dry run).

Kinds: idempotency answers, the personal-data access log, webhook deliveries delivered and
dead, marketplace feed rows (PostgreSQL tables, `storage/retention_tables.py`), the
recommender's published customer entries (Redis) and its model artefacts (a folder)
(`recommender/retention.py`). The event log, its snapshots, the audit chain and checkpoints
are never touched: they are the business facts and their evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from configuration.settings import (
    DAY,
    IDEMPOTENCY_RETRY_WINDOW_SECONDS,
    Settings,
    SettingsError,
    postgres_conninfo,
)
from recommender import retention as recommender_retention
from recommender.config import configured_model_dir, recommendations_url
from recommender.store import TTL_SECONDS, RecommendationStore
from storage import retention_tables as tables

POLICY_FIELDS = {  # kind -> the Settings field that holds its retention, in seconds
    "command_answers": "retain_command_answers_seconds",
    "pii_access_log": "retain_pii_access_log_seconds",
    "behaviour_data": "retain_behaviour_data_seconds",
    "webhook_deliveries": "retain_webhook_deliveries_seconds",
    "webhook_dead_letters": "retain_webhook_dead_letters_seconds",
    "model_artefacts": "retain_model_artefacts_seconds",
    "marketplace_feed": "retain_marketplace_feed_seconds",
    "survey_deliveries": "retain_survey_deliveries_seconds",
}


@dataclass(frozen=True)
class KindReport:
    kind: str
    store: str  # where the kind lives
    policy_seconds: int
    cutoff: datetime
    found: int  # older than the cutoff, when looked at
    removed: int  # 0 in a dry run
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "store": self.store,
            "policy": duration_text(self.policy_seconds),
            "policy_seconds": self.policy_seconds,
            "cutoff": self.cutoff.isoformat(),
            "older_than_cutoff": self.found,
            "removed": self.removed,
            "note": self.note,
        }


@dataclass
class RetentionReport:
    dry_run: bool
    at: datetime
    kinds: list[KindReport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "at": self.at.isoformat(),
            "kinds": [kind.as_dict() for kind in self.kinds],
            "event_log": "untouched: events, snapshots, the audit chain and its checkpoints "
            "are never subject to retention",
        }


def duration_text(seconds: int) -> str:
    for unit, size in (("y", 365 * DAY), ("d", DAY), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def apply_retention(
    settings: Settings,
    now: datetime,
    *,
    dry_run: bool,
    batch: int = tables.DEFAULT_BATCH,
    model_root: Path | None = None,
    recommendations: str | None = None,
) -> RetentionReport:
    """Every kind's old data, counted (dry run) or removed. `model_root` and `recommendations`
    default to the recommender's settings (GLOW_MODEL_DIR, GLOW_RECOMMENDATIONS_URL)."""
    _check_answers_policy(settings)
    now = now.astimezone(UTC).replace(microsecond=0)
    report = RetentionReport(dry_run, now)

    def cutoff(kind: str) -> tuple[int, datetime]:
        seconds = int(getattr(settings, POLICY_FIELDS[kind]))
        return seconds, now - timedelta(seconds=seconds)

    report.kinds += _tables(settings, cutoff, dry_run, batch)
    url = recommendations if recommendations is not None else recommendations_url(settings)
    report.kinds.append(_behaviour(url, cutoff, dry_run))
    root = model_root if model_root is not None else configured_model_dir()
    report.kinds.append(_artefacts(root, url, cutoff, dry_run))
    return report


Cutoffs = Callable[[str], tuple[int, datetime]]


def _check_answers_policy(settings: Settings) -> None:
    if settings.retain_command_answers_seconds < IDEMPOTENCY_RETRY_WINDOW_SECONDS:
        raise SettingsError(
            "the retention of command answers is shorter than the "
            f"{IDEMPOTENCY_RETRY_WINDOW_SECONDS // DAY}-day retry window channels are told: "
            "deleting an answer re-opens its Idempotency-Key; set GLOW_RETAIN_COMMAND_ANSWERS "
            "to 30d or more"
        )


def _tables(settings: Settings, cutoff: Cutoffs, dry_run: bool, batch: int) -> list[KindReport]:
    reports = []
    if not settings.is_postgres():
        for rule in tables.RULES:
            seconds, instant = cutoff(rule.kind)
            note = (
                "not applied: retention runs on the PostgreSQL store; the embedded SQLite "
                "store is a development ledger"
            )
            reports.append(KindReport(rule.kind, rule.table, seconds, instant, 0, 0, note))
        return reports
    conninfo = postgres_conninfo(settings.event_store_url)
    for rule in tables.RULES:
        seconds, instant = cutoff(rule.kind)
        where = f"postgresql:{rule.table}"
        with psycopg.connect(conninfo) as conn:
            if not tables.table_exists(conn, rule.table):
                note = f"no table {rule.table}: run glow migrate"
                reports.append(KindReport(rule.kind, where, seconds, instant, 0, 0, note))
                continue
            found = tables.count_old(conn, rule, instant)
        removed = 0 if dry_run or not found else tables.delete_old(conninfo, rule, instant, batch)
        reports.append(KindReport(rule.kind, where, seconds, instant, found, removed))
    return reports


def _behaviour(url: str | None, cutoff: Cutoffs, dry_run: bool) -> KindReport:
    seconds, instant = cutoff("behaviour_data")
    if url is None:
        note = "no Redis for recommendations (GLOW_RECOMMENDATIONS_URL): nothing published"
        return KindReport("behaviour_data", "redis", seconds, instant, 0, 0, note)
    store = RecommendationStore.from_url(url)
    where = f"redis:{store.prefix}customer:*"
    try:
        found = recommender_retention.count_old_entries(store, seconds)
        removed = 0
        if not dry_run and found:
            removed = recommender_retention.remove_old_entries(store, seconds)
    finally:
        store.client.close()
    note = "" if seconds < TTL_SECONDS else "Redis expires them sooner"
    return KindReport("behaviour_data", where, seconds, instant, found, removed, note)


def _artefacts(root: Path, url: str | None, cutoff: Cutoffs, dry_run: bool) -> KindReport:
    seconds, instant = cutoff("model_artefacts")
    where = f"folder:{root}"
    if not root.is_dir():
        return KindReport("model_artefacts", where, seconds, instant, 0, 0, "no such folder")
    keep: frozenset[str] = frozenset()
    if url is not None:
        store = RecommendationStore.from_url(url)
        try:
            published = recommender_retention.published_version(store)
        finally:
            store.client.close()
        keep = frozenset({published}) if published else keep
    old = recommender_retention.old_artefacts(root, instant, keep)
    removed = 0 if dry_run else recommender_retention.remove_artefacts(old)
    note = "the newest version and the one Redis serves are always kept"
    return KindReport("model_artefacts", where, seconds, instant, len(old), removed, note)
