"""The team's quality gates run with the tests, so CI refuses code that breaks them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_the_source_passes_mypy_strict() -> None:
    result = run("mypy", "--no-error-summary")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_passes_ruff_lint_and_format() -> None:
    lint = run("ruff", "check", "src", "tests", "scripts")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    formatting = run("ruff", "format", "--check", "src", "tests", "scripts")
    assert formatting.returncode == 0, formatting.stdout + formatting.stderr


def test_the_domain_imports_nothing_but_eventsourcing_and_the_standard_library() -> None:
    allowed = {"eventsourcing", "domain", *sys.stdlib_module_names}
    offenders = []
    for path in (ROOT / "src" / "domain").glob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from") and not line.startswith(" "):
                top = words[1].split(".")[0]
                if top not in allowed and top != "__future__":
                    offenders.append(f"{path.name}:{number}: {line}")
    assert offenders == []


def lint_imports(cwd: Path, source: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages under `source`, with the contract in cwd's pyproject."""
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(script), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(script.parent), "PYTHONPATH": str(source), "PYTHONNOUSERSITE": "1"},
    )


def test_the_packages_keep_the_import_contract() -> None:
    result = lint_imports(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_new_package_cycle_breaks_the_import_contract(tmp_path: Path) -> None:
    """A throwaway module in projections that imports streams (which imports projections)
    closes a cycle between two packages: the check must fail and name the import."""
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    throwaway = tmp_path / "src" / "projections" / "throwaway_cycle.py"
    throwaway.write_text('"""Closes a cycle on purpose."""\n\nimport streams.relay  # noqa: F401\n')
    result = lint_imports(tmp_path, tmp_path / "src")
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert "projections.throwaway_cycle -> streams.relay" in result.stdout


def test_a_domain_module_importing_a_driver_breaks_the_import_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "src" / "domain" / "throwaway_driver.py").write_text("import psycopg  # noqa\n")
    result = lint_imports(tmp_path, tmp_path / "src")
    assert result.returncode != 0, result.stdout
    assert "domain.throwaway_driver -> psycopg" in result.stdout


def test_every_file_the_architecture_page_names_exists() -> None:
    """docs/architecture.md walks the code file by file: a moved or renamed file must move
    there too, or a newcomer following it opens a file that is not there."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`((?:[a-z_]+/)+[a-z0-9_]+\.(?:py|sql))`", page))
    assert len(named) > 20, "the page names the files of a command's and a query's path"
    missing = sorted(
        name for name in named if not (ROOT / "src" / name).exists() and not (ROOT / name).exists()
    )
    assert missing == []
