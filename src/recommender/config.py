"""Where the recommender keeps its artefacts and publishes its answers, from the environment:
`GLOW_MODEL_DIR` (default var/recommender) and `GLOW_RECOMMENDATIONS_URL` (a redis:// URL with
an optional ?namespace=; default: the hot views' Redis when that is Redis), and where recent
behaviour is read (GLOW_RECOMMENDER_BEHAVIOUR_*), and up to how many products the vector index
searches exactly (GLOW_RECOMMENDER_ANN_EXACT_UP_TO)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from configuration.settings import Settings, SettingsError, ensure_folder

if TYPE_CHECKING:
    from recommender.behaviour_signals import BehaviourSource


def configured_model_dir() -> Path:
    """The artefacts' folder as configured, whether or not it exists yet."""
    return Path(os.environ.get("GLOW_MODEL_DIR") or Settings().model_dir)


def model_dir() -> Path:
    """The artefacts' folder, made with its parents if missing (or refused, naming it)."""
    return ensure_folder(configured_model_dir(), "GLOW_MODEL_DIR")


ANN_EXACT_UP_TO = 128  # products: a catalogue this small is scored whole, faster than searched
MAX_ANN_EXACT_UP_TO = 1_000_000


def ann_exact_up_to() -> int:
    """Catalogues of at most this many products are searched exactly instead of through the
    HNSW graphs (0: always the graphs). Read when an index is built, i.e. a version saved."""
    raw = os.environ.get("GLOW_RECOMMENDER_ANN_EXACT_UP_TO", "").strip()
    if not raw:
        return ANN_EXACT_UP_TO
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_ANN_EXACT_UP_TO:
        raise SettingsError(
            f"GLOW_RECOMMENDER_ANN_EXACT_UP_TO must be a whole number of products from 0 to "
            f"{MAX_ANN_EXACT_UP_TO:,} (catalogues this small are searched exactly), got {raw!r}"
        )
    return int(raw)


def recommendations_url(settings: Settings) -> str | None:
    url = os.environ.get("GLOW_RECOMMENDATIONS_URL")
    if url:
        return url
    hot = settings.hot_views_url or ""
    return hot if hot.startswith(("redis://", "rediss://")) else None


def behaviour_url(settings: Settings) -> str | None:
    """Where recent behaviour is read: GLOW_RECOMMENDER_BEHAVIOUR_URL, else the analytics
    database when it is a ClickHouse server. An embedded chDB path is read only when named
    (the process serving it keeps it open); none, or 0 days: training as without behaviour."""
    if settings.recommender_behaviour_days <= 0:
        return None
    if settings.recommender_behaviour_url:
        return settings.recommender_behaviour_url
    analytics = settings.analytics_url or ""
    return analytics if analytics.startswith(("http://", "https://")) else None


def behaviour_source(settings: Settings) -> BehaviourSource | None:
    """The behaviour tables to read, opened (ClickHouse's client only when there are some)."""
    from clickhouse_connect.driver.httpclient import HttpClient

    from projections.clickhouse_facts import connect
    from recommender.behaviour_signals import BehaviourSource, BehaviourWindow

    url = behaviour_url(settings)
    if url is None:
        return None
    client = connect(url)
    if isinstance(client, HttpClient):
        client.form_encode_query_params = True  # the consenting customers' ids, in the body
    window = BehaviourWindow(
        settings.recommender_behaviour_days, settings.recommender_behaviour_max_rows
    )
    return BehaviourSource(client, window)
