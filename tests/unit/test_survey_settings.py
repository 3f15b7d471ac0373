"""GLOW_SURVEY_WEBHOOK_SECRETS: each survey source's Standard Webhooks secret; a malformed
entry stops the start with a message that names the entry, never the secret."""

from __future__ import annotations

import base64

import pytest

from configuration.settings import Settings, SettingsError

GOOD = "whsec_" + base64.b64encode(b"k" * 32).decode()
SHORT = "whsec_" + base64.b64encode(b"k" * 8).decode()


def test_each_source_has_its_secret_and_an_unknown_source_none() -> None:
    settings = Settings.from_env({"GLOW_SURVEY_WEBHOOK_SECRETS": f"polls:{GOOD}, nps-tool:{GOOD}"})
    assert settings.survey_webhook_secret("polls") == GOOD
    assert settings.survey_webhook_secret("nps-tool") == GOOD
    assert settings.survey_webhook_secret("other") is None
    assert GOOD not in repr(settings)
    assert Settings.from_env({}).survey_webhook_secret("polls") is None


@pytest.mark.parametrize(
    "raw,problem",
    [
        (f"Polls:{GOOD}", "lower-case"),
        (f"polls:{GOOD},polls:{GOOD}", "named twice"),
        ("polls:secret-without-prefix", "must start with whsec_"),
        ("polls:whsec_***", "not base64"),
        (f"polls:{SHORT}", "shorter than 24 bytes"),
    ],
)
def test_a_malformed_entry_is_refused_without_echoing_the_secret(raw: str, problem: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"GLOW_SURVEY_WEBHOOK_SECRETS": raw})
    assert problem in str(refused.value)
    assert raw.partition(":")[2] not in str(refused.value)
