"""Placeholder replaced by the migrations runner branch."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "migrations" / "postgres"


def pending_migrations(conninfo: str, directory: Path = DEFAULT_DIRECTORY) -> list[str]:
    return []


def apply_migrations(conninfo: str, directory: Path = DEFAULT_DIRECTORY) -> list[str]:
    return []
