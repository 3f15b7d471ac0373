"""The native libraries the ledger loads (the vector index's faiss, LightFM, chDB, pyarrow,
statsforecast's C++ models)
work whichever is imported first: a wheel whose statically linked C++ runtime takes over
symbols of a library loaded after it crashes that library (usearch did this to pyarrow's IPC
reader). Each order runs in a fresh interpreter, since a process imports each library once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("recommender.vector_index", "lightfm", "chdb", "pyarrow.ipc", "statsforecast.models")
EXERCISE = """
import numpy as np
import pyarrow as pa
import chdb
from recommender.vector_index import indexed

from datetime import UTC, date, datetime
from decimal import Decimal
from projections.columnar_insert import RowEncoder

types = {"at": pa.timestamp("us", tz="UTC"), "day": pa.date32(), "price": pa.decimal128(18, 4)}
encoder = RowEncoder({"sales": {**types, "sku": pa.string()}})
row = (datetime(2026, 1, 1, 12, tzinfo=UTC), date(2026, 1, 2), Decimal("9.9"), "A")
_, data = encoder.encode("sales", ("at", "day", "price", "sku"), [row])
assert pa.ipc.open_stream(data).read_all().to_pylist()[0]["sku"] == "A"
assert chdb.query("SELECT sum(number) FROM numbers(1000)", "CSV").bytes().strip() == b"499500"
rng = np.random.default_rng(1)
vectors = rng.standard_normal((300, 16)).astype(np.float32)
index = indexed([f"P{n}" for n in range(300)], vectors, np.zeros(300, np.float32), exact_up_to=0)
assert not index.exact and len(index.like("P7", 5)) == 5
from statsforecast.models import AutoETS, CrostonSBA
season = np.tile([1.0, 2.0, 3.0, 2.0, 1.0, 5.0, 4.0], 20) + rng.random(140)
assert AutoETS(season_length=7).forecast(y=season, h=7)["mean"].shape == (7,)
assert CrostonSBA().forecast(y=np.array([0.0, 2, 0, 0, 1, 0, 3] * 10), h=3)["mean"][0] > 0
"""


@pytest.mark.parametrize("first", LIBRARIES)
def test_each_native_library_may_be_imported_first(first: str) -> None:
    rest = [name for name in LIBRARIES if name != first]
    imports = "\n".join(f"import {name}" for name in (first, *rest))
    completed = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", imports + "\n" + EXERCISE],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
