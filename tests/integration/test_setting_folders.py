"""The folders and files settings name: made with their parents, or refused at start with a
message naming the folder and the setting (on the file system, through the `glow` command)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from configuration.settings import SettingsError, development_secret, ensure_folder, ensure_parent
from tests.e2e.conftest import scratch_database


def test_a_missing_folder_is_made_with_its_parents(tmp_path: Path) -> None:
    made = ensure_folder(tmp_path / "var" / "deep" / "faust", "--data-dir")
    assert made.is_dir()


def test_a_folder_under_a_file_is_refused_naming_the_folder_and_the_setting(
    tmp_path: Path,
) -> None:
    (tmp_path / "var").write_text("a file where a folder should be")
    with pytest.raises(SettingsError) as refused:
        ensure_folder(tmp_path / "var" / "faust", "glow worker --data-dir")
    assert str(tmp_path / "var" / "faust") in str(refused.value)
    assert "glow worker --data-dir" in str(refused.value)


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "models").write_text("")
    with pytest.raises(SettingsError, match=r"exists and is not a folder.*GLOW_MODEL_DIR"):
        ensure_folder(tmp_path / "models", "GLOW_MODEL_DIR")


def test_a_files_parent_folders_are_made(tmp_path: Path) -> None:
    file = ensure_parent(tmp_path / "exports" / "2026" / "log.jsonl", "glow export FILE")
    assert file.parent.is_dir() and not file.exists()


def test_a_development_secret_is_made_once_private_and_then_kept(tmp_path: Path) -> None:
    path = tmp_path / "var" / "cluster" / "glow-jwt.secret"
    first = development_secret(path, lambda: "first")
    again = development_secret(path, lambda: "second")
    assert first == again == "first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_embedded_store_and_its_secrets_land_in_missing_folders(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'fresh' / 'var' / 'ledger.sqlite'}"
    assert main(["--store", store, "token", "--role", "admin"]) == 0
    assert (tmp_path / "fresh" / "var" / "glow-jwt.secret").exists()


def test_a_store_under_a_file_is_refused_with_the_setting_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "var").write_text("")
    store = f"sqlite:///{tmp_path / 'var' / 'ledger.sqlite'}"
    assert main(["--store", store, "token", "--role", "admin"]) == 2
    refused = capsys.readouterr().err
    assert "GLOW_EVENT_STORE_URL" in refused and str(tmp_path / "var") in refused


def test_the_model_folder_is_refused_at_start_when_it_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "var").write_text("")
    monkeypatch.setenv("GLOW_MODEL_DIR", str(tmp_path / "var" / "recommender"))
    store = f"sqlite:///{tmp_path / 'store' / 'ledger.sqlite'}"
    assert main(["--store", store, "recommend", "uptake"]) == 2
    assert "GLOW_MODEL_DIR" in capsys.readouterr().err


def test_an_export_file_lands_in_folders_made_for_it(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store' / 'ledger.sqlite'}"
    out = tmp_path / "exports" / "december" / "log.jsonl"
    assert main(["--store", store, "export", str(out)]) == 0
    assert out.exists()


@pytest.fixture
def migrated_store() -> Iterator[str]:
    with scratch_database() as url:
        yield url


def test_a_checkpoint_export_lands_in_folders_made_for_it(
    migrated_store: str, tmp_path: Path
) -> None:
    out = tmp_path / "audit" / "2026" / "checkpoints.json"
    assert main(["--store", migrated_store, "checkpoint", "--export", str(out)]) == 0
    assert out.read_text().startswith("[")


def test_a_checkpoint_export_under_a_file_is_refused_before_anything_is_recorded(
    migrated_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "audit").write_text("")
    out = tmp_path / "audit" / "checkpoints.json"
    assert main(["--store", migrated_store, "checkpoint", "--export", str(out)]) == 2
    assert "glow checkpoint --export" in capsys.readouterr().err
