"""The settings of serving and of TLS to the stores, as an operator writes them."""

from __future__ import annotations

import pytest

from configuration.settings import Settings, SettingsError, eventsourcing_env
from configuration.urls import take_query_parameter
from storage.postgres_factory import LIBPQ_PARAMS, libpq_params


@pytest.mark.parametrize("raw", ["0", "0.5", "3601", "nan", "inf", "-5"])
def test_a_shutdown_grace_out_of_range_is_refused_naming_the_range(raw: str) -> None:
    with pytest.raises(SettingsError, match="GLOW_SHUTDOWN_GRACE_SECONDS must be 1 to 3600"):
        Settings.from_env({"GLOW_SHUTDOWN_GRACE_SECONDS": raw})


def test_the_grace_and_tls_files_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "GLOW_SHUTDOWN_GRACE_SECONDS": "12.5",
            "GLOW_TLS_CERTFILE": "/etc/glow/server.pem",
            "GLOW_TLS_KEYFILE": "/etc/glow/server.key",
        }
    )
    assert settings.shutdown_grace_seconds == 12.5
    assert (settings.tls_certfile, settings.tls_keyfile, settings.tls_ca_certs) == (
        "/etc/glow/server.pem",
        "/etc/glow/server.key",
        "",
    )
    assert Settings.from_env(settings.as_env()) == settings  # as a child process gets them


def test_a_store_urls_query_reaches_libpq_unchanged() -> None:
    url = "postgresql://glow:s%40cret@db:5433/glow?sslmode=verify-full&sslrootcert=/etc/ca.pem"
    env = eventsourcing_env(url)
    assert env["POSTGRES_PASSWORD"] == "s@cret"
    assert libpq_params(env[LIBPQ_PARAMS]) == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ca.pem",
    }
    assert libpq_params(eventsourcing_env("postgresql://db/glow")[LIBPQ_PARAMS]) == {}


def test_the_namespace_is_taken_out_of_a_redis_url_and_its_tls_options_stay() -> None:
    url = "rediss://cache:6380/2?ssl_cert_reqs=required&namespace=shop&ssl_ca_certs=/ca.pem"
    assert take_query_parameter(url, "namespace", "glow") == (
        "rediss://cache:6380/2?ssl_cert_reqs=required&ssl_ca_certs=%2Fca.pem",
        "shop",
    )
    assert take_query_parameter("redis://cache/0", "namespace", "glow") == (
        "redis://cache/0",
        "glow",
    )
