"""Which model version serves: the pointer `<root>/serving` (the version's name, one line),
replaced atomically (written aside, flushed, renamed over the old one), and the promotions
that moved it, one JSON object a line in `<root>/promotions.jsonl` (what, when, how, why, and
what served before). Read without numpy or LightFM.

A folder written before the pointer existed has none: the newest version without a gate
record served then (every version was published), and is served until something is promoted.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from recommender.artefact_versions import VERSION_PATTERN, versions

POINTER = "serving"
PROMOTIONS = "promotions.jsonl"
FIRST, GATE, FORCED, ROLLBACK = "first", "gate", "forced", "rollback"


class UnknownVersionError(LookupError):
    """A version that is not a complete artefact in the model folder."""


def serving_version(root: Path) -> Path | None:
    """The version that serves, None when there is none yet."""
    pointer = root / POINTER
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return _legacy(root)
    directory = root / name
    if not directory.match(VERSION_PATTERN) or not (directory / "model.json").exists():
        raise UnknownVersionError(
            f"{pointer} names {name!r}, which is not a complete version in {root}; point it at "
            "one `glow recommend versions` lists (`glow recommend promote vNNNN`)"
        )
    return directory


def _legacy(root: Path) -> Path | None:
    for directory in reversed(versions(root)):
        try:
            document = json.loads((directory / "model.json").read_text())
        except (OSError, ValueError):
            continue
        if "gate" not in document:
            return directory
    return None


def point(root: Path, version: str, how: str, reason: str, at: datetime) -> dict[str, Any]:
    """Make `version` the serving one and record the promotion; returns the record."""
    require_version(root, version)
    previous = serving_version(root)
    entry = {
        "version": version,
        "at": at.isoformat(),
        "how": how,
        "reason": reason,
        "previous": previous.name if previous else None,
    }
    with (root / PROMOTIONS).open("a") as log:  # the record first: a move is never unrecorded
        log.write(json.dumps(entry) + "\n")
        log.flush()
        os.fsync(log.fileno())
    _replace(root / POINTER, version + "\n")
    return entry


def require_version(root: Path, version: str) -> Path:
    """The complete version `version` in `root`, or an UnknownVersionError naming those there."""
    directory = root / version
    if not directory.match(VERSION_PATTERN) or not (directory / "model.json").exists():
        known = ", ".join(p.name for p in versions(root)) or "none"
        raise UnknownVersionError(
            f"no complete version {version!r} in {root} (versions: {known}); expected a name "
            "like v0003 that `glow recommend versions` lists"
        )
    return directory


def promotions(root: Path) -> list[dict[str, Any]]:
    """Every promotion recorded, oldest first."""
    try:
        lines = (root / PROMOTIONS).read_text().splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def _replace(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
