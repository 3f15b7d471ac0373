from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from storage.migrations import (
    MIGRATIONS_DIRECTORY,
    ChangedMigrationError,
    apply_migrations,
    pending_migrations,
)

# Neither file may run twice: a second CREATE TABLE without IF NOT EXISTS would fail.
FIRST = "CREATE TABLE shelf (code text PRIMARY KEY);\nSELECT pg_sleep(0.2);\n"
SECOND = "CREATE TABLE shelf_label (shelf text REFERENCES shelf (code), label text);\n"


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    (tmp_path / "0002_shelf_label.sql").write_text(SECOND)
    (tmp_path / "0001_shelf.sql").write_text(FIRST)
    (tmp_path / "README.md").write_text("not a migration")
    return tmp_path


def table_names(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}


def test_files_are_applied_in_name_order_and_recorded(
    scratch_database_url: str, migrations: Path
) -> None:
    assert pending_migrations(scratch_database_url, migrations) == [
        "0001_shelf.sql",
        "0002_shelf_label.sql",
    ]

    applied = apply_migrations(scratch_database_url, migrations)

    assert applied == ["0001_shelf.sql", "0002_shelf_label.sql"]
    assert pending_migrations(scratch_database_url, migrations) == []
    assert {"shelf", "shelf_label", "glow_schema_migrations"} <= table_names(scratch_database_url)


def test_applying_twice_applies_nothing_the_second_time(
    scratch_database_url: str, migrations: Path
) -> None:
    apply_migrations(scratch_database_url, migrations)

    assert apply_migrations(scratch_database_url, migrations) == []


def test_a_new_file_is_applied_after_the_recorded_ones(
    scratch_database_url: str, migrations: Path
) -> None:
    apply_migrations(scratch_database_url, migrations)
    (migrations / "0003_shelf_height.sql").write_text("ALTER TABLE shelf ADD height_mm int;\n")

    assert apply_migrations(scratch_database_url, migrations) == ["0003_shelf_height.sql"]


def test_a_changed_file_that_was_applied_is_refused(
    scratch_database_url: str, migrations: Path
) -> None:
    apply_migrations(scratch_database_url, migrations)
    (migrations / "0001_shelf.sql").write_text(FIRST + "-- edited afterwards\n")
    (migrations / "0003_shelf_height.sql").write_text("ALTER TABLE shelf ADD height_mm int;\n")

    with pytest.raises(ChangedMigrationError, match=r"0001_shelf\.sql"):
        apply_migrations(scratch_database_url, migrations)
    assert pending_migrations(scratch_database_url, migrations) == ["0003_shelf_height.sql"]


def test_a_failing_file_leaves_no_trace_and_stays_pending(
    scratch_database_url: str, migrations: Path
) -> None:
    (migrations / "0003_broken.sql").write_text("CREATE TABLE bin (id int);\nSELECT 1/0;\n")

    with pytest.raises(psycopg.errors.DivisionByZero):
        apply_migrations(scratch_database_url, migrations)

    assert pending_migrations(scratch_database_url, migrations) == ["0003_broken.sql"]
    assert "bin" not in table_names(scratch_database_url)


def test_two_concurrent_migrators_apply_each_file_exactly_once(
    scratch_database_url: str, migrations: Path
) -> None:
    start = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def migrate() -> None:
        start.wait()
        try:
            results.append(apply_migrations(scratch_database_url, migrations))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(name for applied in results for name in applied) == [
        "0001_shelf.sql",
        "0002_shelf_label.sql",
    ]


def test_the_project_migrations_give_the_schema_the_event_store_expects(
    scratch_database_url: str,
) -> None:
    apply_migrations(scratch_database_url, MIGRATIONS_DIRECTORY)

    assert {"inventory_events", "inventory_snapshots"} <= table_names(scratch_database_url)
    assert apply_migrations(scratch_database_url, MIGRATIONS_DIRECTORY) == []
