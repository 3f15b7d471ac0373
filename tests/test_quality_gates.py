"""The team's quality gates run with the tests, so CI refuses code that breaks them."""

from __future__ import annotations

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
