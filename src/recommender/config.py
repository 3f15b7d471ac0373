"""Where the recommender keeps its artefacts and publishes its answers, from the environment:
`GLOW_MODEL_DIR` (default var/recommender) and `GLOW_RECOMMENDATIONS_URL` (a redis:// URL with
an optional ?namespace=; default: the hot views' Redis when that is Redis)."""

from __future__ import annotations

import os
from pathlib import Path

from configuration.settings import Settings, ensure_folder


def configured_model_dir() -> Path:
    """The artefacts' folder as configured, whether or not it exists yet."""
    return Path(os.environ.get("GLOW_MODEL_DIR") or "var/recommender")


def model_dir() -> Path:
    """The artefacts' folder, made with its parents if missing (or refused, naming it)."""
    return ensure_folder(configured_model_dir(), "GLOW_MODEL_DIR")


def recommendations_url(settings: Settings) -> str | None:
    url = os.environ.get("GLOW_RECOMMENDATIONS_URL")
    if url:
        return url
    hot = settings.hot_views_url or ""
    return hot if hot.startswith(("redis://", "rediss://")) else None
