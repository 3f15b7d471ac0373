"""Starting what a benchmark needs that is not running: PostgreSQL, a scratch database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg


def ensure_postgres(base_url: str) -> None:
    try:
        psycopg.connect(f"{base_url}/postgres", connect_timeout=3).close()
        return
    except psycopg.OperationalError:
        pass
    clusters = sorted(p.name for p in Path("/etc/postgresql").glob("*"))
    if not clusters:
        raise SystemExit(
            "PostgreSQL is not reachable and not installed: run scripts/test once "
            "(it installs it) or point --postgres at a server"
        )
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", clusters[-1], "main", "start"], check=False
    )
    for _ in range(30):
        try:
            psycopg.connect(f"{base_url}/postgres", connect_timeout=3).close()
            return
        except psycopg.OperationalError:
            time.sleep(1)
    raise SystemExit(f"PostgreSQL at {base_url} did not come up")


def fresh_database(base_url: str, name: str) -> str:
    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def wait_for_sweeper(base_url: str, seconds: float, headers: dict[str, str]) -> None:
    """Wait until the reservation sweeper has read the log's history (it does so at start).

    The figures are in /health/detail, for an operator token; a revision from before that
    split (a baseline of bench_commands_ab) answers them publicly at /health."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        health = _health_detail(base_url, headers)
        if health["sweeper_position"] >= health["log_head"]:
            return
        time.sleep(0.2)
    raise SystemExit(f"the reservation sweeper did not catch up within {seconds} s")


def _health_detail(base_url: str, headers: dict[str, str]) -> dict[str, Any]:
    asked = urllib.request.Request(base_url + "/health/detail", headers=headers)
    try:
        with urllib.request.urlopen(asked, timeout=5) as reply:
            found: dict[str, Any] = json.loads(reply.read())
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        with urllib.request.urlopen(base_url + "/health", timeout=5) as reply:
            found = json.loads(reply.read())
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the given processes (all their threads) have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it exited
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def postgres_pids() -> list[int]:
    """Every process of the local PostgreSQL server (backends included)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def with_descendants(pid: int) -> list[int]:
    """A process and every process it started (the writer process of `glow serve`)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found
