"""Settings handed to a child process intact, shown without passwords, and each read model's
reason for being off in this process."""

from __future__ import annotations

from configuration.settings import Settings, without_password
from service_layer.served_models import served_analytics, served_hot_views


def test_settings_survive_the_trip_through_a_childs_environment() -> None:
    settings = Settings(
        event_store_url="postgresql://postgres@db:5432/glow",
        reservation_ttl_seconds=60,
        sweep_interval_seconds=0.5,
        chain_interval_seconds=0,
        hot_views_url="redis://cache:6379/3?namespace=x",
        analytics_url=None,
        master_key="a2V5",
        jwt_secret="secret",
        broker_url="kafka://broker:9092",
        topic_prefix="t.",
    )
    assert Settings.from_env(settings.as_env()) == settings
    assert Settings.from_env(Settings().as_env()) == Settings()


def test_the_writer_has_a_process_of_its_own_by_default_on_postgresql_only() -> None:
    postgres = "postgresql://postgres@db:5432/glow"
    assert Settings.from_env({"GLOW_EVENT_STORE_URL": postgres}).writer_process
    assert Settings.from_env({}, event_store_url=postgres).writer_process
    assert not Settings.from_env({}).writer_process  # the embedded SQLite store
    off = {"GLOW_EVENT_STORE_URL": postgres, "GLOW_WRITER_PROCESS": "0"}
    assert not Settings.from_env(off).writer_process
    assert not Settings(event_store_url=postgres).writer_process  # built directly: asked for


def test_a_password_is_never_shown() -> None:
    assert without_password("redis://:hunter2@cache:6379/0") == "redis://:***@cache:6379/0"
    assert "hunter2" not in without_password("http://analyst:hunter2@ch:8123/?database=x")
    assert without_password("postgresql://postgres@db/glow") == "postgresql://postgres@db/glow"


def test_with_a_broker_a_chdb_path_is_left_to_the_worker_and_the_reason_says_so() -> None:
    settings = Settings(broker_url="kafka://b:9092", analytics_url="chdb:///srv/facts")
    served = served_analytics(settings)
    assert served.url is None
    assert "/srv/facts" in served.why_off and "worker" in served.why_off
    assert "http" in served.why_off and "is not set" not in served.why_off


def test_with_a_broker_the_in_process_hot_views_are_left_off_and_the_reason_says_so() -> None:
    served = served_hot_views(Settings(broker_url="kafka://b:9092", hot_views_url="memory://"))
    assert served.url is None and "redis://" in served.why_off


def test_without_a_broker_both_read_models_are_served_from_their_urls() -> None:
    settings = Settings(hot_views_url="memory://", analytics_url="chdb:///srv/facts")
    assert served_hot_views(settings).url == "memory://"
    assert served_analytics(settings).url == "chdb:///srv/facts"
    assert "empty" in served_analytics(Settings()).why_off
