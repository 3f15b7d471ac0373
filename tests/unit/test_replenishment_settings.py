"""GLOW_REPLENISHMENT_*: read, defaulted, and refused with a message naming what was
expected; the desk's default policy is made of them."""

from __future__ import annotations

import pytest

from configuration.settings import Settings, SettingsError
from service_layer.replenishment_desk import defaults_from


def test_replenishment_settings_are_read_defaulted_and_survive_a_childs_environment() -> None:
    assert defaults_from(Settings.from_env({})).terms.as_dict() == {
        "service_level": 0.95,
        "lead_time_days": 7,
        "review_period_days": 7,
        "order_multiple": 1,
        "minimum_order": 0,
        "min_units": None,
        "max_units": None,
        "shelf_life_days": None,
    }
    settings = Settings.from_env(
        {
            "GLOW_REPLENISHMENT_SERVICE_LEVEL": "0.9",
            "GLOW_REPLENISHMENT_LEAD_TIME_DAYS": "3",
            "GLOW_REPLENISHMENT_REVIEW_DAYS": "14",
            "GLOW_REPLENISHMENT_SHELF_LIFE_DAYS": "180",
            "GLOW_REPLENISHMENT_TRANSFER_DAYS": "2",
        }
    )
    found = defaults_from(settings)
    assert (found.terms.service_level, found.terms.lead_time_days) == (0.9, 3)
    assert (found.terms.review_period_days, found.shelf_life_days, found.transfer_days) == (
        14,
        180,
        2,
    )
    assert Settings.from_env(settings.as_env()) == settings


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("GLOW_REPLENISHMENT_SERVICE_LEVEL", "1", "at least 0.5 and below 1"),
        ("GLOW_REPLENISHMENT_SERVICE_LEVEL", "high", "must be a number"),
        ("GLOW_REPLENISHMENT_LEAD_TIME_DAYS", "400", "0 to 365 (days a supplier takes"),
        ("GLOW_REPLENISHMENT_REVIEW_DAYS", "0", "1 to 365 (days between replenishment runs)"),
        ("GLOW_REPLENISHMENT_SHELF_LIFE_DAYS", "0", "1 to 3650 (days from receipt to expiry)"),
        ("GLOW_REPLENISHMENT_TRANSFER_DAYS", "-1", "0 to 60"),
    ],
)
def test_a_replenishment_setting_out_of_range_says_what_was_expected(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError, match=name) as refused:
        Settings.from_env({name: value})
    assert expected in str(refused.value)
