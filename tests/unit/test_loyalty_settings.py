"""GLOW_LOYALTY_*: read, defaulted, and refused with a message naming what was expected."""

from __future__ import annotations

from decimal import Decimal

import pytest

from configuration.settings import Settings, SettingsError

POSTGRES = "postgresql://postgres@db:5432/glow"


def test_loyalty_settings_are_read_and_survive_a_childs_environment() -> None:
    settings = Settings.from_env(
        {
            "GLOW_LOYALTY_POINTS_PER_UNIT": "2.5",
            "GLOW_LOYALTY_EXPIRY_DAYS": "90",
            "GLOW_LOYALTY_TIERS": "silver=100, gold=400",
        }
    )
    assert settings.loyalty_points_per_unit == Decimal("2.5")
    assert settings.loyalty_expiry_days == 90
    assert settings.loyalty_tier_thresholds() == (("member", 0), ("silver", 100), ("gold", 400))
    assert Settings.from_env(settings.as_env()) == settings


def test_the_follower_thread_runs_by_default_on_postgresql_without_a_broker_only() -> None:
    assert Settings.from_env({"GLOW_EVENT_STORE_URL": POSTGRES}).loyalty
    assert not Settings.from_env({}).loyalty
    with_broker = {"GLOW_EVENT_STORE_URL": POSTGRES, "GLOW_BROKER_URL": "kafka://b:9092"}
    assert not Settings.from_env(with_broker).loyalty
    assert not Settings.from_env({"GLOW_EVENT_STORE_URL": POSTGRES, "GLOW_LOYALTY": "0"}).loyalty


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("GLOW_LOYALTY_POINTS_PER_UNIT", "lots", "a number from 0 to 1000"),
        ("GLOW_LOYALTY_POINTS_PER_UNIT", "-1", "a number from 0 to 1000"),
        ("GLOW_LOYALTY_EXPIRY_DAYS", "0", "1 to 3650 days"),
        ("GLOW_LOYALTY_TIERS", "diamond=10", "TIER one of silver, gold, platinum"),
        ("GLOW_LOYALTY_TIERS", "gold=500,silver=100", "rising points"),
        ("GLOW_LOYALTY_TIERS", "silver=0", "rising points"),
    ],
)
def test_a_bad_loyalty_setting_is_refused_naming_what_was_expected(
    variable: str, value: str, said: str
) -> None:
    with pytest.raises(SettingsError, match=said):
        Settings.from_env({variable: value})
