"""`glow worker` at start: it makes the folders it needs (with their parents), and a worker
that cannot work exits non-zero at once, saying which setting is wrong."""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from cli.dev_processes import free_port, stop
from configuration.settings import Settings
from tests.integration.cluster.processes import GLOW, environment, wait_for

pytestmark = pytest.mark.kafka

AT_ONCE = 60  # seconds: a refusal comes before Faust starts; this only bounds a hang


def worker(settings: Settings, cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    """A worker run from `cwd`, its output in `cwd`/worker.log."""
    with (cwd / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [GLOW, "worker", "--web-port", str(free_port()), *args],
            env=environment(settings),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def refusal(settings: Settings, cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [GLOW, "worker", "--web-port", str(free_port()), *args],
        env=environment(settings),
        cwd=cwd,
        capture_output=True,
        timeout=AT_ONCE,
        check=False,
    )
    said = (done.stdout + done.stderr).decode()
    assert done.returncode == 2, said
    return said


def test_a_worker_in_a_fresh_folder_makes_its_data_folder_with_parents_and_runs(
    cluster: Settings, tmp_path: Path
) -> None:
    process = worker(cluster, tmp_path)  # the default --data-dir var/faust; no var/ yet
    try:
        # Faust's own folder inside --data-dir: made once Faust started in it (it used to fail
        # there, making var/faust without its parents)
        app_folder = tmp_path / "var" / "faust" / "v1" / "tables"
        wait_for(lambda: app_folder.is_dir() or process.poll() is not None, 90, "Faust to start")
        time.sleep(1)
        assert process.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        stop(process)
    assert process.returncode == 0


def test_a_worker_whose_data_folder_cannot_be_made_exits_at_once_naming_it(
    cluster: Settings, tmp_path: Path
) -> None:
    (tmp_path / "var").write_text("a file where a folder should be")
    said = refusal(cluster, tmp_path, "--data-dir", "var/faust")
    assert "var/faust" in said and "--data-dir" in said
    assert "Traceback" not in said


def test_a_worker_with_in_process_hot_views_exits_at_once(
    cluster: Settings, tmp_path: Path
) -> None:
    said = refusal(replace(cluster, hot_views_url="memory://"), tmp_path)
    assert "GLOW_HOT_VIEWS_URL" in said and "redis://" in said


def test_a_worker_that_cannot_reach_redis_exits_at_once(cluster: Settings, tmp_path: Path) -> None:
    unreachable = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    said = refusal(replace(cluster, hot_views_url=unreachable), tmp_path)
    assert "GLOW_HOT_VIEWS_URL" in said and "hunter2" not in said


def test_a_worker_whose_chdb_path_is_held_by_another_process_exits_at_once(
    cluster: Settings, tmp_path: Path
) -> None:
    first = worker(cluster, tmp_path, "--data-dir", str(tmp_path / "first"))
    try:
        held = tmp_path / "worker-chdb" / "status"  # chDB's lock file, as the cluster names it
        wait_for(held.exists, 60, "the first worker to open its chDB path")
        said = refusal(cluster, tmp_path, "--data-dir", str(tmp_path / "second"))
    finally:
        stop(first)
    assert "GLOW_ANALYTICS_URL" in said and "one process" in said
