"""GLOW_FORECAST_*: read, defaulted, and refused with a message naming what was expected."""

from __future__ import annotations

import pytest

from configuration.settings import Settings, SettingsError


def test_forecast_settings_default_and_survive_a_childs_environment() -> None:
    default = Settings.from_env({})
    assert (default.forecast_horizon_days, default.forecast_censored) == (28, True)
    settings = Settings.from_env(
        {"GLOW_FORECAST_HORIZON_DAYS": "56", "GLOW_FORECAST_CENSORED": "off"}
    )
    assert (settings.forecast_horizon_days, settings.forecast_censored) == (56, False)
    assert Settings.from_env(settings.as_env()) == settings
    assert Settings.from_env(default.as_env()) == default


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("GLOW_FORECAST_HORIZON_DAYS", "0", "must be 1 to 366 days"),
        ("GLOW_FORECAST_HORIZON_DAYS", "400", "must be 1 to 366 days"),
        ("GLOW_FORECAST_HORIZON_DAYS", "four weeks", "must be a whole number"),
        ("GLOW_FORECAST_CENSORED", "maybe", "must be 1 or 0"),
    ],
)
def test_bad_forecast_settings_are_refused_saying_what_was_expected(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError, match=expected):
        Settings.from_env({name: value})
