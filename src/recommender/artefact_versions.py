"""Which model versions a folder of artefacts holds (`<root>/v0001/model.json`, ...), and when
each was trained, read without loading a model (no numpy, no LightFM)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

VERSION_PATTERN = "v[0-9][0-9][0-9][0-9]"


def versions(root: Path) -> list[Path]:
    """The complete versions, oldest first (a folder without model.json is half written)."""
    return sorted(p for p in root.glob(VERSION_PATTERN) if (p / "model.json").exists())


def trained_at(directory: Path) -> datetime:
    """When the version was trained: its `trained_until` (the training's clock), else, for a
    model.json that lacks it or does not parse, the file's modification time."""
    document = directory / "model.json"
    try:
        found = json.loads(document.read_text()).get("trained_until")
        instant = datetime.fromisoformat(found) if isinstance(found, str) else None
    except (OSError, ValueError):
        instant = None
    if instant is None:
        return datetime.fromtimestamp(document.stat().st_mtime, tz=UTC)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
