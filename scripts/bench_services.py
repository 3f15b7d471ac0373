"""Starting what a benchmark needs that is not running: PostgreSQL, a scratch database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

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


def wait_for_sweeper(health_url: str, seconds: float) -> None:
    """Wait until the reservation sweeper has read the log's history (it does so at start)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(health_url, timeout=5) as reply:
            health = json.loads(reply.read())
        if health["sweeper_position"] >= health["log_head"]:
            return
        time.sleep(0.2)
    raise SystemExit(f"the reservation sweeper did not catch up within {seconds} s")


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
