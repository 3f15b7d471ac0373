"""Settings handed to a child process intact."""

from __future__ import annotations

from service_layer.settings import Settings


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
