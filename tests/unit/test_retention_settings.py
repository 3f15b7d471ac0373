"""Retention settings: durations with their units, clear refusals, and the answers' floor
(deleting an answer re-opens its Idempotency-Key, so they are kept at least the retry window);
and the dump/restore programs looked up by the server's major version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from configuration.settings import DAY, Settings, SettingsError
from service_layer.retention import apply_retention, duration_text
from storage.pg_tools import PgToolError, find_tool

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def test_answers_kept_shorter_than_the_retry_window_are_refused() -> None:
    with pytest.raises(SettingsError, match=r"Idempotency-Key.*30d or more"):
        Settings.from_env({"GLOW_RETAIN_COMMAND_ANSWERS": "7d"})
    with pytest.raises(SettingsError, match="30d or more"):
        apply_retention(
            Settings(retain_command_answers_seconds=DAY), NOW, dry_run=True, model_root=Path("/x")
        )


@pytest.mark.parametrize("raw", ["0d", "-3d", "30x", "d", "1.5d", "101y", "٣d"])
def test_a_malformed_retention_says_what_is_expected(raw: str) -> None:
    with pytest.raises(SettingsError, match="GLOW_RETAIN_WEBHOOK_DELIVERIES must be a positive"):
        Settings.from_env({"GLOW_RETAIN_WEBHOOK_DELIVERIES": raw})


def test_durations_read_with_their_units() -> None:
    settings = Settings.from_env(
        {"GLOW_RETAIN_WEBHOOK_DELIVERIES": "12h", "GLOW_RETAIN_PII_ACCESS_LOG": "2y"}
        | {"GLOW_RETAIN_MODEL_ARTEFACTS": "3600", "GLOW_RETAIN_BEHAVIOUR_DATA": "2w"}
    )
    assert settings.retain_webhook_deliveries_seconds == 12 * 3600
    assert settings.retain_pii_access_log_seconds == 2 * 365 * DAY
    assert settings.retain_model_artefacts_seconds == 3600
    assert settings.retain_behaviour_data_seconds == 14 * DAY
    again = {"GLOW_RETAIN_WEBHOOK_DELIVERIES": settings.as_env()["GLOW_RETAIN_WEBHOOK_DELIVERIES"]}
    assert Settings.from_env(again).retain_webhook_deliveries_seconds == 12 * 3600


def test_policies_are_reported_in_the_unit_they_are_written_in() -> None:
    assert [duration_text(s) for s in (35 * DAY, 6 * 365 * DAY, 12 * 3600, 90 * 60, 45)] == [
        "35d",
        "6y",
        "12h",
        "90m",
        "45s",
    ]


def test_a_missing_dump_program_names_the_version_and_the_package_to_install() -> None:
    with pytest.raises(PgToolError, match=r"no pg_dump of PostgreSQL 99.*postgresql-client-99"):
        find_tool("pg_dump", 99)
