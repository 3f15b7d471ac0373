"""The serving pointer: replaced atomically, every move recorded, refused for a version that
is not a complete artefact; a folder from before pointers serves its newest ungated version."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recommender.retention import old_artefacts
from recommender.serving_pointer import (
    GATE,
    ROLLBACK,
    UnknownVersionError,
    point,
    promotions,
    serving_version,
)

AT = datetime(2026, 12, 1, tzinfo=UTC)


def version(root: Path, name: str, **record: object) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "model.json").write_text(json.dumps({"version": name, **record}))
    return directory


def test_the_pointer_moves_only_to_complete_versions_and_every_move_is_recorded(
    tmp_path: Path,
) -> None:
    assert serving_version(tmp_path) is None
    version(tmp_path, "v0001", gate={"promoted": True})
    version(tmp_path, "v0002", gate={"promoted": False})
    (tmp_path / "v0003").mkdir()  # half written: no model.json
    point(tmp_path, "v0001", GATE, "first", AT)
    assert serving_version(tmp_path) == tmp_path / "v0001"
    with pytest.raises(UnknownVersionError, match=r"v0003.*versions: v0001, v0002"):
        point(tmp_path, "v0003", ROLLBACK, "no", AT)
    with pytest.raises(UnknownVersionError, match="like v0003"):
        point(tmp_path, "../etc", ROLLBACK, "no", AT)
    point(tmp_path, "v0002", ROLLBACK, "an operator's choice", AT)
    assert serving_version(tmp_path) == tmp_path / "v0002"
    assert [(p["version"], p["how"], p["previous"]) for p in promotions(tmp_path)] == [
        ("v0001", GATE, None),
        ("v0002", ROLLBACK, "v0001"),
    ]
    assert (tmp_path / "serving").read_text() == "v0002\n"
    assert not list(tmp_path.glob(".serving.*"))  # no temporary file left behind


def test_a_pointer_naming_a_missing_version_is_an_error_that_says_how_to_fix_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "serving").write_text("v0009\n")
    with pytest.raises(UnknownVersionError, match="glow recommend promote"):
        serving_version(tmp_path)


def test_a_folder_from_before_the_pointer_serves_its_newest_ungated_version(
    tmp_path: Path,
) -> None:
    version(tmp_path, "v0001")
    version(tmp_path, "v0002")
    version(tmp_path, "v0003", gate={"promoted": False, "reason": "worse"})
    assert serving_version(tmp_path) == tmp_path / "v0002"


def test_retention_never_removes_the_serving_version_even_when_newer_ones_were_refused(
    tmp_path: Path,
) -> None:
    old = "2026-01-01T00:00:00+00:00"
    for name in ("v0001", "v0002", "v0003", "v0004"):
        version(tmp_path, name, trained_until=old, gate={"promoted": name == "v0002"})
    point(tmp_path, "v0002", GATE, "not worse", AT)
    removable = old_artefacts(tmp_path, AT, frozenset({"v0001"}))
    assert [p.name for p in removable] == ["v0003"]  # v0001 Redis serves, v0004 the newest
