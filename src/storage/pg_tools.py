"""PostgreSQL's own dump and restore programs, of the server's major version: `pg_dump` in
custom format (one consistent snapshot) and `pg_restore` into another database.

A dump made by another major version than the server's either refuses or loses what the older
tool cannot read, so the programs are looked up on PATH and in Debian's
/usr/lib/postgresql/<major>/bin, and the one whose major version matches is used. Passwords
never go on a command line (other users see it in `ps`): they travel in PGPASSWORD.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


class PgToolError(RuntimeError):
    """A dump or restore program is missing, of the wrong version, or failed."""


def server_version(conn: psycopg.Connection[Any]) -> tuple[int, str]:
    """(major version, full version text) of the server `conn` is connected to."""
    row = conn.execute(
        "SELECT current_setting('server_version_num')::int, current_setting('server_version')"
    ).fetchone()
    assert row is not None
    return int(row[0]) // 10000, str(row[1]).split()[0]


def tool_version(path: str) -> tuple[int, str]:
    """`pg_dump (PostgreSQL) 15.20 (Debian ...)` -> (15, "15.20")."""
    try:
        text = subprocess.run(
            [path, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise PgToolError(f"{path} --version failed: {error}") from None
    found = re.search(r"\)\s*(\d+)(?:\.(\d+))?", text)
    if found is None:
        raise PgToolError(f"cannot read the version of {path} from {text.strip()!r}")
    return int(found.group(1)), found.group(0).lstrip(") \t")


def find_tool(name: str, major: int) -> tuple[str, str]:
    """(path, version) of the `name` program of PostgreSQL `major`."""
    installed = sorted(str(p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    candidates = [shutil.which(name), *installed]
    seen: list[str] = []
    for path in dict.fromkeys(c for c in candidates if c):
        tool_major, version = tool_version(path)
        if tool_major == major:
            return path, version
        seen.append(f"{path} ({version})")
    raise PgToolError(
        f"no {name} of PostgreSQL {major}, the server's major version, was found on PATH or "
        f"in /usr/lib/postgresql/*/bin (found: {', '.join(seen) or 'none'}); install "
        f"postgresql-client-{major}"
    )


def connection_for_tool(url: str) -> tuple[str, dict[str, str]]:
    """The connection string a dump or restore program takes, without the password, and the
    environment that carries the password."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def run_tool(arguments: Sequence[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(list(arguments), capture_output=True, text=True, env=env)
    except OSError as error:
        raise PgToolError(f"{what}: cannot run {arguments[0]}: {error}") from None
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise PgToolError(
            f"{what} failed (exit {done.returncode}): " + " / ".join(detail[-5:] or ["no output"])
        )


def dump(url: str, file: Path, major: int, snapshot: str, without_data: Sequence[str]) -> str:
    """Dump the database at `url` as of an exported `snapshot` into `file` (custom format),
    leaving out the rows of the tables in `without_data`; returns pg_dump's version."""
    tool, version = find_tool("pg_dump", major)
    conninfo, env = connection_for_tool(url)
    arguments = [
        tool,
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--snapshot={snapshot}",
        f"--file={file}",
        *(f"--exclude-table-data={table}" for table in without_data),
        f"--dbname={conninfo}",
    ]
    run_tool(arguments, env, "pg_dump")
    return version


def restore(url: str, file: Path, major: int) -> str:
    """Restore a custom-format dump into the database at `url`, all or nothing."""
    tool, version = find_tool("pg_restore", major)
    conninfo, env = connection_for_tool(url)
    arguments = [
        tool,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={conninfo}",
        str(file),
    ]
    run_tool(arguments, env, "pg_restore")
    return version
