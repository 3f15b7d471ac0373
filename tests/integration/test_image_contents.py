"""What the container image would hold: the project's wheel, built as the Dockerfile builds it
(`pip wheel --no-deps .`), carries every package and every SQL migration; installed into a
fresh virtual environment (as the image's /opt/glow), its `glow migrate` finds the migrations
there (not in a checkout) and applies them to an empty PostgreSQL database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.e2e.conftest import POSTGRES_URL, _maintenance_connection, with_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    build = tmp_path_factory.mktemp("build")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        cwd=build,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (built,) = folder.glob("glowledger-*.whl")
    return built


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"glow_image_{secrets.token_hex(5)}"
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(POSTGRES_URL, name)
    finally:
        with _maintenance_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_the_wheel_carries_every_package_and_every_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = [p.name for p in (ROOT / "src").iterdir() if (p / "__init__.py").exists()]
    assert len(packages) >= 13
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    for kind in ("postgres", "clickhouse"):
        for migration in (ROOT / "migrations" / kind).glob("*.sql"):
            member = (
                f"glowledger-0.1.0.data/data/share/glowledger/migrations/{kind}/{migration.name}"
            )
            assert zipfile.ZipFile(wheel).read(member) == migration.read_bytes(), member
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "glow = cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_migrates_an_empty_database(
    wheel: Path, empty_database: str, tmp_path: Path
) -> None:
    prefix = tmp_path / "opt-glow"
    subprocess.run([sys.executable, "-m", "venv", str(prefix)], check=True)
    # The wheel alone, by the new prefix's own pip (as the Dockerfile installs it into
    # /opt/glow); its dependencies are read from this venv's site-packages (on PYTHONPATH,
    # which processes no .pth: the editable checkout stays out).
    install = subprocess.run(
        [str(prefix / "bin" / "python"), "-m", "pip", "install", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert install.returncode == 0, install.stderr[-2000:]
    env = {
        **os.environ,
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "GLOW_ANALYTICS_URL": "",
        "GLOW_HOT_VIEWS_URL": "",
    }
    where = subprocess.run(
        [
            str(prefix / "bin" / "python"),
            "-c",
            "from storage.migrations import MIGRATIONS_DIRECTORY as d; import storage; "
            "print(d); print(storage.__file__)",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert where.returncode == 0, where.stderr
    folder, module = where.stdout.split()
    assert folder == str(prefix / "share" / "glowledger" / "migrations" / "postgres")
    assert module.startswith(str(prefix))  # the installed package, not the checkout

    migrate = subprocess.run(
        [str(prefix / "bin" / "glow"), "--store", empty_database, "migrate"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert migrate.returncode == 0, migrate.stderr
    shipped = sorted(p.name for p in (ROOT / "migrations" / "postgres").glob("*.sql"))
    with psycopg.connect(empty_database) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM glow_schema_migrations ORDER BY 1")]
    assert applied == shipped
