"""What `glow worker` needs before it hands over to Faust, checked at start: a worker that
cannot work refuses at once (exit 2, naming the setting) instead of dying inside Faust's
start-up, or running while it projects into nothing anyone reads."""

from __future__ import annotations

import redis

from configuration.settings import Settings, SettingsError, ensure_folder, without_password
from service_layer.bootstrap import require_schema
from service_layer.read_side import open_hot_views
from service_layer.served_models import MEMORY
from streams.embedded_driver import CONSUMER

DATA_DIR_SETTING = "glow worker --data-dir"


def refuse_unready_worker(settings: Settings, data_dir: str) -> None:
    settings.bootstrap_servers()  # a usable GLOW_BROKER_URL, or a SettingsError saying why
    if not settings.is_postgres():
        raise SettingsError(
            "a worker records its position in the PostgreSQL event store: set "
            "GLOW_EVENT_STORE_URL=postgresql://... (the one the relay follows)"
        )
    _refuse_unread_models(settings)
    require_schema(settings)
    ensure_folder(data_dir, DATA_DIR_SETTING)
    if settings.hot_views_url is not None:
        _reach_hot_views(settings.hot_views_url)


def _refuse_unread_models(settings: Settings) -> None:
    url = settings.hot_views_url
    if url is not None and url.startswith(MEMORY):
        raise SettingsError(
            "GLOW_HOT_VIEWS_URL is memory://: a worker would keep the hot views in its own "
            "memory, where no API process can read them; set GLOW_HOT_VIEWS_URL=redis://... "
            "(the same for the workers and glow serve), or empty to leave them off"
        )
    if url is None and settings.analytics_url is None:
        raise SettingsError(
            "GLOW_HOT_VIEWS_URL and GLOW_ANALYTICS_URL are both empty: a worker would keep no "
            "read model; set at least one of them"
        )


def _reach_hot_views(url: str) -> None:
    try:
        open_hot_views(url).position(CONSUMER)
    except redis.RedisError as error:
        raise SettingsError(
            f"cannot reach the hot views at {without_password(url)} (GLOW_HOT_VIEWS_URL): {error}"
        ) from None
