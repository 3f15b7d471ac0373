"""The rate limits' and logs' settings: what reads, what is refused with the variable named,
where the windows are counted, the IETF fields' syntax, and which request ids are kept."""

from __future__ import annotations

import json
import logging

import pytest

from api.rate_limit_policies import WindowState, limit, policy_field, ratelimit_field
from api.rate_limits import rate_limiter, storage_url
from api.request_observation import logged_subject, request_id
from configuration.logs import configure_logging
from configuration.settings import Settings, SettingsError


def test_rate_limits_are_off_unless_asked_for_and_read_from_the_environment() -> None:
    assert rate_limiter(Settings.from_env({})) is None
    settings = Settings.from_env(
        {
            "GLOW_RATE_LIMITS": "1",
            "GLOW_RATE_LIMIT_PER_SUBJECT": "5/second;100/minute",
            "GLOW_RATE_LIMIT_ROLES": "store-staff=1000/second;20000/minute,operator=2/second",
            "GLOW_RATE_LIMIT_CHANNELS": "pos=9/second",
        }
    )
    limiter = rate_limiter(settings)
    assert limiter is not None
    subject = limiter.policies.subject_limit("channel")
    assert [(w.name, w.amount, w.seconds) for w in subject.windows] == [
        ("subject-1s", 5, 1),
        ("subject-60s", 100, 60),
    ]
    staff = limiter.policies.subject_limit("store-staff")
    assert [w.amount for w in staff.windows] == [1000, 20000]
    assert limiter.policies.channel_limit("pos").windows[0].amount == 9
    assert limiter.policies.channel_limit("web").windows[0].amount == 2000
    # as a child process (the writer, the dev cluster's) gets them back
    assert Settings.from_env(settings.as_env()).rate_limit_roles == settings.rate_limit_roles
    assert Settings.from_env(settings.as_env()).rate_limits is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GLOW_RATE_LIMIT_PER_SUBJECT", "lots"),
        ("GLOW_RATE_LIMIT_PER_CHANNEL", "0/second"),
        ("GLOW_RATE_LIMIT_ROLES", "wizard=5/second"),
        ("GLOW_RATE_LIMIT_CHANNELS", "pos="),
    ],
)
def test_a_limit_that_does_not_read_names_its_variable(variable: str, value: str) -> None:
    settings = Settings.from_env({"GLOW_RATE_LIMITS": "yes", variable: value})
    with pytest.raises(SettingsError, match=variable):
        rate_limiter(settings)


def test_windows_are_counted_in_redis_when_the_hot_views_are_there() -> None:
    assert storage_url(Settings()) == "memory://"
    assert storage_url(Settings(hot_views_url="memory://")) == "memory://"
    assert storage_url(Settings(hot_views_url="redis://r:6379/2")) == "redis://r:6379/2"
    chosen = Settings(hot_views_url="redis://r:6379/2", rate_limit_storage_url="memory://")
    assert storage_url(chosen) == "memory://"


def test_the_fields_follow_the_drafts_structured_syntax() -> None:
    subject = limit("subject", "3/minute", "X").windows[0]
    channel = limit("channel", "10/second", "X").windows[0]
    states = [WindowState(subject, 1, 1000.2), WindowState(channel, 12, 1000.5)]
    assert policy_field(states) == '"subject";q=3;w=60, "channel";q=10;w=1'
    assert ratelimit_field(states, now=990.0) == '"subject";r=2;t=11, "channel";r=0;t=11'
    assert WindowState(subject, 0, 990.0).seconds_left(990.0) == 0


def test_a_sane_request_id_is_kept_and_any_other_replaced() -> None:
    def sent(value: bytes) -> str:
        return request_id({"headers": [(b"x-request-id", value)]})

    assert sent(b"abc-123:xyz.9") == "abc-123:xyz.9"
    for bad in (b"", b"-lead", b"a" * 129, b"x y", b"jane@example.com", b"\xff"):
        assert len(sent(bad)) == 32 and sent(bad) != bad.decode("latin-1")
    assert len(request_id({"headers": []})) == 32
    assert logged_subject("svc-shop") == "svc-shop"
    assert logged_subject("jane@example.com") == "[redacted]"


@pytest.mark.parametrize(
    ("variable", "value"), [("GLOW_LOG_FORMAT", "xml"), ("GLOW_LOG_LEVEL", "LOUD")]
)
def test_a_log_setting_that_does_not_read_is_refused(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_json_logs_carry_the_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging(Settings.from_env({"GLOW_LOG_FORMAT": "json", "GLOW_LOG_LEVEL": "info"}))
        logging.getLogger("glow.test").info("relay batch", extra={"events": 3, "position": 9})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "relay batch" and line["level"] == "INFO"
    assert line["logger"] == "glow.test" and line["events"] == 3 and line["position"] == 9
    assert "time" in line
