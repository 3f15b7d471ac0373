"""Which ANN engine the recommender's vector index uses, chosen by measurement; the last line is
one JSON object.

    .venv/bin/python scripts/bench_ann_choice.py --quick    # under 60 s: synthetic 20,000 x 64
    .venv/bin/python scripts/bench_ann_choice.py            # synthetic 100,000 x 64

Compares usearch, faiss-cpu (IndexHNSWFlat), hnswlib and chDB's `vector_similarity` index
(ClickHouse HNSW) with the same graph settings (16 links a node, 128 candidates while building,
64 while searching) on three sets of 64-dimensional vectors:

- `demo`: the item vectors of a hybrid model trained on the synthetic business (300 products),
  augmented for maximum inner product search as `recommender.vector_index` augments them;
- `ml100k`: LightFM's item vectors for MovieLens 100k's 1,682 films, augmented the same way;
- `synthetic`: random Gaussian vectors (100,000, or 20,000 with --quick).

Every engine searches by cosine (the augmented vectors make cosine order equal inner-product
order). Per engine and set: recall@10 against exact neighbours (numpy), query p50/p99 in
microseconds (one query at a time, as a request asks), build seconds, the serialised size in
bytes, and whether it serialises to bytes an API process can load from Redis. usearch and hnswlib
are measured only when installed (`pip install usearch hnswlib`): the project depends on the
engine chosen (faiss-cpu), not on the others. pyarrow is imported before usearch here: usearch's
wheel, imported first, makes pyarrow's IPC reader segfault (why it was not chosen).
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow  # noqa: F401 - before usearch (see above)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from demo.business import generate  # noqa: E402
from recommender import movielens  # noqa: E402
from recommender.hybrid import fit  # noqa: E402
from recommender.lightfm_core import TrainingConfig, train  # noqa: E402
from recommender.vector_index import augmented_items  # noqa: E402

LINKS, BUILD_CANDIDATES, SEARCH_CANDIDATES, K = 16, 128, 64, 10
Search = Callable[[np.ndarray], np.ndarray]  # one query -> its neighbours' row numbers


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(vectors / norms, dtype=np.float32)


def exact(items: np.ndarray, queries: np.ndarray) -> np.ndarray:
    scores = unit(queries) @ unit(items).T
    return np.argsort(-scores, axis=1)[:, :K]


def vector_sets(quick: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (items, queries); queries for the item sets are augmented user vectors."""
    rng = np.random.default_rng(0)
    business = generate(300, 400 if quick else 1000, seed=7)
    model = fit(business.signals(), business.end)
    demo_items = augmented_items(model.item_vectors, model.item_bias)
    users, _ = model.embeddings.users(model.users.rows([(c, []) for c in model.users.ids]))
    demo_queries = np.hstack([users, np.ones((len(users), 1)), np.zeros((len(users), 2))])
    split = movielens.random_split(movielens.interactions_text(), test_share=0.0)
    embeddings = train(split.train, TrainingConfig(epochs=10))
    ml_items = augmented_items(embeddings.item_embeddings, embeddings.item_biases)
    ml_users = embeddings.user_embeddings
    ml_queries = np.hstack([ml_users, np.ones((len(ml_users), 1)), np.zeros((len(ml_users), 2))])
    size = 20_000 if quick else 100_000
    synthetic = rng.standard_normal((size, 64)).astype(np.float32)
    synthetic_queries = rng.standard_normal((500, 64)).astype(np.float32)
    return {
        "demo": (demo_items, np.asarray(demo_queries[:500], np.float32)),
        "ml100k": (ml_items, np.asarray(ml_queries[:500], np.float32)),
        "synthetic": (synthetic, synthetic_queries),
    }


def with_usearch(items: np.ndarray) -> tuple[Search, int, bool]:
    from usearch.index import Index

    index = Index(
        ndim=items.shape[1],
        metric="cos",
        dtype="f32",
        connectivity=LINKS,
        expansion_add=BUILD_CANDIDATES,
        expansion_search=SEARCH_CANDIDATES,
    )
    index.add(np.arange(len(items)), items)
    blob = bytes(index.save())
    loaded = Index.restore(blob)
    assert loaded is not None

    def search(query: np.ndarray) -> np.ndarray:
        return np.asarray(loaded.search(query, K).keys)

    return search, len(blob), True


def with_faiss(items: np.ndarray) -> tuple[Search, int, bool]:
    import faiss  # type: ignore[import-not-found]

    index = faiss.IndexHNSWFlat(items.shape[1], LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = BUILD_CANDIDATES
    index.add(unit(items))
    blob = faiss.serialize_index(index)
    loaded = faiss.deserialize_index(blob)
    loaded.hnsw.efSearch = SEARCH_CANDIDATES

    def search(query: np.ndarray) -> np.ndarray:
        _, found = loaded.search(unit(query[np.newaxis, :]), K)
        return np.asarray(found[0])

    return search, int(blob.nbytes), True


def with_hnswlib(items: np.ndarray) -> tuple[Search, int, bool]:
    import hnswlib  # type: ignore[import-not-found]

    index = hnswlib.Index(space="cosine", dim=items.shape[1])
    index.init_index(len(items), M=LINKS, ef_construction=BUILD_CANDIDATES, random_seed=0)
    index.add_items(items, np.arange(len(items)))
    blob = pickle.dumps(index)
    loaded = pickle.loads(blob)  # our own bytes, made a line above
    loaded.set_ef(SEARCH_CANDIDATES)
    loaded.set_num_threads(1)

    def search(query: np.ndarray) -> np.ndarray:
        labels, _ = loaded.knn_query(query, K)
        return np.asarray(labels[0])

    return search, len(blob), True


def with_chdb(items: np.ndarray) -> tuple[Search, int, bool]:
    """A MergeTree table with a `vector_similarity` HNSW index, searched by SQL; the index lives
    in the table's parts on disk and serialises to no bytes a process could load."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]
    from chdb import session

    folder = tempfile.mkdtemp(prefix="ann-chdb-")
    db = session.Session(folder)
    dims = items.shape[1]
    db.query("CREATE DATABASE IF NOT EXISTS ann")
    db.query(
        "CREATE TABLE ann.items (id UInt32, vec Array(Float32), INDEX hnsw vec TYPE "
        f"vector_similarity('hnsw', 'cosineDistance', {dims}, 'f32', {LINKS}, "
        f"{BUILD_CANDIDATES}) GRANULARITY 100000000) ENGINE = MergeTree ORDER BY id"
    )
    source = Path(folder) / "items.parquet"
    table = pa.table({"id": np.arange(len(items), dtype=np.uint32), "vec": list(items)})
    pq.write_table(table, source)
    db.query(f"INSERT INTO ann.items SELECT id, vec FROM file('{source}', Parquet)")
    db.query("OPTIMIZE TABLE ann.items FINAL")
    size = int(
        db.query(
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'ann' AND active",
            "CSV",
        )
        .bytes()
        .decode()
        .strip()
        or 0
    )
    settings = f"SETTINGS hnsw_candidate_list_size_for_search = {SEARCH_CANDIDATES}"

    def search(query: np.ndarray) -> np.ndarray:
        literal = "[" + ",".join(f"{v:.7g}" for v in query) + "]"
        sql = (
            f"SELECT id FROM ann.items ORDER BY cosineDistance(vec, {literal}::Array(Float32)) "
            f"LIMIT {K} {settings}"
        )
        rows = db.query(sql, "CSV").bytes().decode().split()
        return np.array([int(r) for r in rows])

    return search, size, False


ENGINES: dict[str, tuple[str | None, Callable[[np.ndarray], tuple[Search, int, bool]]]] = {
    "usearch": ("usearch", with_usearch),
    "faiss": ("faiss", with_faiss),
    "hnswlib": ("hnswlib", with_hnswlib),
    "chdb": ("chdb", with_chdb),
}


def measure(
    build: Callable[[np.ndarray], tuple[Search, int, bool]],
    items: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    most_queries: int,
) -> dict[str, Any]:
    started = time.perf_counter()
    search, size, as_bytes = build(items)
    build_s = time.perf_counter() - started
    found, timings = 0, []
    chosen = queries[:most_queries]
    for n, query in enumerate(chosen):
        began = time.perf_counter_ns()
        neighbours = search(query)
        timings.append((time.perf_counter_ns() - began) / 1000)
        found += len(set(neighbours.tolist()) & set(truth[n].tolist()))
    p50, p99 = np.percentile(timings, [50, 99])
    return {
        "recall_at_10": round(found / (K * len(chosen)), 4),
        "query_us_p50": round(float(p50), 1),
        "query_us_p99": round(float(p99), 1),
        "build_s": round(build_s, 3),
        "bytes": size,
        "serialises_to_bytes": as_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 synthetic vectors")
    args = parser.parse_args()
    sets = vector_sets(args.quick)
    figures: dict[str, Any] = {}
    for name, (items, queries) in sets.items():
        truth = exact(items, queries)
        for engine, (module, build) in ENGINES.items():
            if module and importlib.util.find_spec(module) is None:
                figures[f"{engine}_{name}"] = {"missing": f"pip install {engine}"}
                continue
            # chDB answers a query in milliseconds: fewer queries keep --quick under a minute
            most = 100 if engine == "chdb" else len(queries)
            result = measure(build, items, queries, truth, most)
            figures[f"{engine}_{name}"] = result
            print(f"{engine:8} {name:9} {len(items):>7} items: {result}", file=sys.stderr)
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
