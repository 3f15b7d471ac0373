"""The README's cluster path as written: `scripts/cluster` in a fresh folder starts Tansu, the
relay, the worker and the API; a sale sent over HTTP with a `glow token` reaches Redis and
`glow lag`; Ctrl-C stops every process it started, and none is left behind."""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from cli.dev_cluster import ensure_database
from cli.dev_processes import free_port
from projections.redis_views import RedisHotViews
from tests.e2e.conftest import POSTGRES_URL, with_database
from tests.integration.cluster.processes import GLOW, ROOT, wait_for

pytestmark = pytest.mark.kafka

SKU, SHOP = "LIPBALM-1", "LYON"


@pytest.fixture
def database() -> Iterator[str]:
    """A name no database has yet: the script creates it; dropped afterwards."""
    name = f"glow_dev_{secrets.token_hex(5)}"
    try:
        yield with_database(POSTGRES_URL, name)
    finally:
        with psycopg.connect(with_database(POSTGRES_URL, "postgres"), autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    name = f"glow-dev-{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        RedisHotViews.from_url(redis_url, name).drop_everything()


def sourced(env_file: Path) -> dict[str, str]:
    """What `source var/cluster/env` exports."""
    exported = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            exported[name] = shlex.split(value)[0] if value else ""
    return exported


def process_tree(root: int) -> set[int]:
    """`root` and every process descended from it, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(parents.get(pid, []))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def logs(folder: Path) -> str:
    return "\n".join(
        f"--- {log.name}:\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted(folder.glob("*.log"))
    )


def waited(check: Any, timeout: float, what: str, folder: Path) -> Any:
    """wait_for, failing with the cluster's logs as they are when the time is up."""
    try:
        return wait_for(check, timeout, what, interval=0.3)
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}\n{logs(folder)}") from None


def sell_one(api: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "X-Channel": "pos"}

    def post(path: str, body: dict[str, Any]) -> None:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        answer = httpx.post(f"{api}{path}", json=body, headers=headers | key, timeout=30)
        assert answer.status_code in (200, 201), answer.text

    post(
        "/locations",
        {"code": SHOP, "name": SHOP, "kind": "store", "latitude": 45.7, "longitude": 4.8},
    )
    variant = {"sku": SKU, "price": "6.90", "shade": "clear"}
    post(
        "/products",
        {
            "product_code": "P-LIPBALM",
            "name": "Lip balm",
            "brand": "Glow",
            "category": "lips",
            "variants": [variant],
        },
    )
    post(
        "/stock/receipts",
        {"sku": SKU, "location": SHOP, "batch": "B1", "expiry": "2031-01-31", "quantity": 5},
    )
    post("/sales", {"lines": [{"sku": SKU, "location": SHOP, "quantity": 2}]})


@pytest.mark.slow  # over 12 s: CI's second pass (scripts/test -m slow)
def test_the_readme_cluster_command_runs_the_cluster_and_ctrl_c_stops_all_of_it(
    database: str, namespace: str, redis_url: str, tmp_path: Path
) -> None:
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOW_")}
    env["GLOW_EVENT_STORE_URL"] = database
    env["GLOW_HOT_VIEWS_URL"] = f"{redis_url}?namespace={namespace}"
    ports = ["--port", str(api_port), "--broker-port", str(free_port())]
    out = tmp_path / "cluster.out"
    with out.open("wb") as log:
        cluster = subprocess.Popen(
            [str(ROOT / "scripts" / "cluster"), *ports, "--worker-port", str(free_port())],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: "Ctrl-C stops" in out.read_text() or cluster.poll() is not None,
            90,
            "the cluster to start",
        )
        assert cluster.poll() is None, out.read_text()
        folder = tmp_path / "var" / "cluster"
        own = {**env, **sourced(folder / "env")}
        token = (
            subprocess.run(
                [GLOW, "token", "--role", "admin"], env=own, capture_output=True, check=True
            )
            .stdout.decode()
            .strip()
        )
        api = f"http://127.0.0.1:{api_port}"
        sell_one(api, token)

        def in_redis() -> dict[str, Any] | None:
            answer = httpx.get(
                f"{api}/availability/{SKU}?location={SHOP}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).json()
            caught_up = answer["log"]["behind"] == 0 and answer["log"]["head"] > 0
            return answer if caught_up else None

        view = waited(in_redis, 60, "the sale in Redis", folder)
        assert view["availability"]["on_hand"] == 3

        def lag_at_head() -> bool:
            lag = subprocess.run([GLOW, "lag"], env=own, capture_output=True)
            if lag.returncode != 0:  # the broker busy (a group rebalancing): asked again
                assert b"Traceback" not in lag.stderr, lag.stderr.decode()
                return False
            rows = lag.stdout.decode().splitlines()[1:]
            names = " ".join(rows)
            return (
                "relay" in names
                and "worker" in names
                and all(row.split()[-2] == "0" for row in rows)
            )

        waited(lag_at_head, 30, "glow lag to show every consumer at the head", folder)
        tree = process_tree(cluster.pid)
        assert len(tree) >= 5, tree  # the supervisor, Tansu, relay, worker, serve (+ its writer)
    finally:
        cluster.send_signal(signal.SIGINT)
        status = cluster.wait(60)
    assert status == 0, out.read_text()
    left = sorted(pid for pid in tree if alive(pid))
    assert left == [], f"still running after Ctrl-C: {left}\n{out.read_text()}"
    assert not list((tmp_path / "var" / "cluster").glob("*.pid"))


def test_an_existing_database_is_kept_and_only_fresh_drops_it(database: str) -> None:
    assert ensure_database(database, fresh=False) == "created"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept_by_the_dev_cluster (n int)")
    assert ensure_database(database, fresh=False) == "kept"
    with psycopg.connect(database) as conn:
        conn.execute("SELECT * FROM kept_by_the_dev_cluster")
    assert ensure_database(database, fresh=True) == "re-created"
    with psycopg.connect(database) as conn:
        found = conn.execute("SELECT to_regclass('kept_by_the_dev_cluster')").fetchone()
    assert found == (None,)


def test_a_second_cluster_from_a_running_ones_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "cluster"
    folder.mkdir(parents=True)
    (folder / "relay.pid").write_text(f"{os.getpid()}\n")  # a process that surely runs
    done = subprocess.run(
        [GLOW, "dev", "cluster", "--folder", str(folder)], capture_output=True, check=False
    )
    assert done.returncode == 2
    assert f"relay {os.getpid()}" in done.stderr.decode()


def test_a_process_that_cannot_start_stops_the_cluster_with_its_reason(
    database: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOW_")}
    env["GLOW_EVENT_STORE_URL"] = database
    env["GLOW_HOT_VIEWS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # no Redis there
    ports = ["--port", str(free_port()), "--broker-port", str(free_port())]
    done = subprocess.run(
        [GLOW, "dev", "cluster", *ports, "--worker-port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    said = done.stderr.decode()
    assert done.returncode == 1, said
    assert "worker stopped (exit status 2)" in said and "GLOW_HOT_VIEWS_URL" in said, said
    assert not list((tmp_path / "var" / "cluster").glob("*.pid"))
