"""The vector index over a model's item vectors, built when a version is saved and published
with it: two HNSW graphs (faiss-cpu, chosen by `scripts/bench_ann_choice.py`; README
"Similar products and the vector index").

- `purchase`: the order `HybridModel.scores` ranks by: `u . v + b`, or with the model's trend
  `(u . v + b - m_u) / s_u + t` (the customer's scores standardised over the catalogue, plus the
  trend), which orders items as `u . v + b + s_u t` does. Each item becomes `[vector, bias, t, r]
  / M` with `r` making every row's norm `M` (the largest), and a customer `[u, 1, s_u, 0]` (`s_u`
  0 without a trend): cosine then orders items as that inner product does, so one cosine graph
  answers the maximum inner product query.
- `likeness`: cosine between item vectors, for similar products.

A catalogue of at most `exact_up_to` items is searched exactly (numpy) instead: a graph over
that few nodes is not faster, and a top 100 of it is most of it. The index also carries what
scoring a customer from profile tags alone needs (the user-tag embeddings, tags x components)
and the moments of the item matrix, so a candidate list's scores are standardised over the
whole catalogue exactly as `publishing` does, without scoring every product."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np
from numpy.typing import NDArray

from recommender.config import ann_exact_up_to

if TYPE_CHECKING:
    from recommender.hybrid import HybridModel

Floats = NDArray[np.float32]
PROFILE_ORIGIN = "chosen for customers with your skin profile"
LINKS = 16  # graph links a node (the same in every engine compared)
BUILD_CANDIDATES = 128
SEARCH_CANDIDATES = 128  # at least the 100 candidates the batch job publishes a customer
FORMAT = 3  # 2: the trend column; 3: faiss graphs


class Graph:
    """An HNSW graph over rows of norm 1 (faiss `IndexHNSWFlat`, inner product): the rows
    nearest a query by inner product, which for unit rows is their cosine order."""

    def __init__(self, index: Any) -> None:
        self.index = index

    @classmethod
    def over(cls, rows: Floats) -> Graph:
        index = faiss.IndexHNSWFlat(rows.shape[1], LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = BUILD_CANDIDATES
        index.hnsw.efSearch = SEARCH_CANDIDATES
        index.add(np.ascontiguousarray(rows, dtype=np.float32))
        return cls(index)

    def search(self, query: Floats, count: int) -> NDArray[np.int64]:
        """The rows of the `count` best, best first (row numbers are the items' keys)."""
        wanted = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        _, found = self.index.search(wanted, count)
        keys = np.asarray(found[0], dtype=np.int64)
        return keys[keys >= 0]  # -1: fewer rows than asked

    def to_bytes(self) -> bytes:
        return bytes(faiss.serialize_index(self.index).tobytes())

    @classmethod
    def from_bytes(cls, blob: bytes) -> Graph:
        index: Any = faiss.deserialize_index(np.frombuffer(blob, dtype=np.uint8))
        index.hnsw.efSearch = SEARCH_CANDIDATES
        return cls(index)


@dataclass(frozen=True)
class Neighbour:
    product_code: str
    at: int  # the product's row in the model's product_codes
    score: float  # inner product with the bias (purchase) or cosine (likeness)


@dataclass
class VectorIndex:
    product_codes: list[str]
    item_vectors: Floats
    item_bias: Floats
    user_tags: dict[str, int]  # tag -> its row in tag_vectors
    tag_vectors: Floats
    purchase: Graph | None = None  # None: exact search (a small catalogue)
    likeness: Graph | None = None
    # the model's weighted trend per product (`HybridModel.trend`); empty: no blend
    trend: Floats = field(default_factory=lambda: np.zeros(0, np.float32))
    _unit: Floats = field(init=False, repr=False)
    _moments: tuple[Floats, float, Floats, Floats, float] = field(init=False, repr=False)
    _trend_moments: tuple[float, float, Floats, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.item_vectors = np.ascontiguousarray(self.item_vectors, dtype=np.float32)
        self.item_bias = np.ascontiguousarray(self.item_bias, dtype=np.float32)
        self._unit = _unit(self.item_vectors)
        self._at = {code: n for n, code in enumerate(self.product_codes)}
        v, b = self.item_vectors.astype(np.float64), self.item_bias.astype(np.float64)
        size = max(len(b), 1)
        self._moments = (
            np.asarray(v.mean(axis=0) if len(b) else np.zeros(v.shape[1]), np.float32),
            float(b.mean()) if len(b) else 0.0,
            np.asarray(v.T @ v / size, np.float32),
            np.asarray(v.T @ b / size, np.float32),
            float((b * b).mean()) if len(b) else 0.0,
        )
        self.trend = np.ascontiguousarray(self.trend, dtype=np.float32)
        if not self.blends_trend:
            self.trend = np.zeros(0, np.float32)
        t = self.trend.astype(np.float64) if self.blends_trend else np.zeros(len(b))
        self._trend_moments = (  # E[t], E[t^2], E[v t], E[b t]
            float(t.mean()) if len(b) else 0.0,
            float((t * t).mean()) if len(b) else 0.0,
            np.asarray(v.T @ t / size, np.float64),
            float(b @ t / size),
        )

    @property
    def blends_trend(self) -> bool:
        return len(self.trend) == len(self.product_codes) > 0

    @property
    def exact(self) -> bool:
        return self.purchase is None

    def position(self, product_code: str) -> int | None:
        return self._at.get(product_code)

    # --- queries ----------------------------------------------------------------------------

    def best_for(self, user: Floats, count: int) -> list[Neighbour]:
        """The `count` products with the highest score as `HybridModel.scores` gives it
        (`u . v + b`, or standardised plus the trend), best first."""
        count = min(count, len(self.product_codes))
        if count <= 0:
            return []
        if self.purchase is None:
            rows = _top(self.scores(user), count)
        else:
            spread = self._spread(user)[1] if self.blends_trend else 0.0
            query = np.concatenate([user, [1.0, spread, 0.0]]).astype(np.float32)
            rows = self.purchase.search(query, count)
        return self._scored(rows, self.scores(user, rows))

    def scores(self, user: Floats, rows: NDArray[np.int64] | None = None) -> NDArray[Any]:
        """The model's scores of the products at `rows` (all when None)."""
        at = slice(None) if rows is None else rows
        raw = self.item_vectors[at] @ user + self.item_bias[at]
        if not self.blends_trend:
            return raw
        mean, spread = self._spread(user)
        return (raw - mean) / spread + self.trend[at]

    def like(self, product_code: str, count: int) -> list[Neighbour]:
        """The `count` products whose vectors are closest in cosine, the product left out."""
        at = self._at[product_code]
        count = min(count, len(self.product_codes) - 1)
        if count <= 0:
            return []
        if self.likeness is None:
            scores = self._unit @ self._unit[at]
            rows = _top(scores, count + 1)
        else:
            rows = self.likeness.search(self._unit[at], count + 1)
        rows = rows[rows != at][:count]
        return self._scored(rows, self._unit[rows] @ self._unit[at])

    def profile_vector(self, tags: Sequence[str]) -> Floats | None:
        """A customer's vector from profile tags alone, as `HybridModel.scores` makes one for
        a customer the model never saw (the mean of the known tags' embeddings); None when the
        model knows none of them."""
        rows = [self.user_tags[t] for t in tags if t in self.user_tags]
        if not rows:
            return None
        return np.asarray(self.tag_vectors[rows].mean(axis=0), dtype=np.float32)

    def candidates(
        self,
        user: Floats,
        count: int,
        intent: Mapping[int, float] | None = None,
        intent_boost: float = 0.0,
    ) -> list[tuple[str, float]]:
        """A customer's best `count` products with their scores standardised over the whole
        catalogue (mean 0, spread 1), recent behaviour (`intent`: product row -> weight)
        moving products up by `intent_boost` spreads as `HybridModel.scores` does; what
        `publishing` publishes."""
        found = self.best_for(user, count)
        scores = {n.at: n.score for n in found}
        mean, square = self._score_moments(user)
        spread = math.sqrt(max(square - mean * mean, 0.0)) or 1.0
        boosted_mean, boosted_square = mean, square
        size = max(len(self.product_codes), 1)
        for at, weight in (intent or {}).items():
            if not 0 <= at < size:
                continue
            base = scores.get(at)
            if base is None:
                base = float(self.scores(user, np.array([at], np.int64))[0])
            lifted = base + spread * intent_boost * min(weight, 1.0)
            scores[at] = lifted
            boosted_mean += (lifted - base) / size
            boosted_square += (lifted * lifted - base * base) / size
        deviation = math.sqrt(max(boosted_square - boosted_mean * boosted_mean, 0.0)) or 1.0
        ranked = sorted(scores.items(), key=lambda item: -item[1])[:count]
        return [
            (self.product_codes[at], round((score - boosted_mean) / deviation, 4))
            for at, score in ranked
        ]

    def _score_moments(self, user: Floats) -> tuple[float, float]:
        """Mean and mean square over every item of the model's score (`_scores`)."""
        mean, spread = self._spread(user)
        if not self.blends_trend:
            return mean, spread * spread + mean * mean
        # standardised z plus t: E[z] = 0, E[z^2] = 1, E[z t] = (E[raw t] - m E[t]) / s
        trend_mean, trend_square, vector_trend, bias_trend = self._trend_moments
        raw_trend = float(user.astype(np.float64) @ vector_trend) + bias_trend
        cross = (raw_trend - mean * trend_mean) / spread
        return trend_mean, 1.0 + 2.0 * cross + trend_square

    def _spread(self, user: Floats) -> tuple[float, float]:
        """Mean and standard deviation of `u . v + b` over every item, from the moments."""
        mean_vector, mean_bias, gram, cross, square_bias = self._moments
        u = user.astype(np.float64)
        mean = float(u @ mean_vector + mean_bias)
        square = float(u @ gram @ u + 2.0 * u @ cross + square_bias)
        return mean, math.sqrt(max(square - mean * mean, 0.0)) or 1.0

    def _scored(self, rows: NDArray[np.int64], scores: NDArray[Any]) -> list[Neighbour]:
        pairs = sorted(zip(rows.tolist(), scores.tolist(), strict=True), key=lambda p: -p[1])
        return [Neighbour(self.product_codes[r], r, float(s)) for r, s in pairs]

    # --- bytes ------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """One blob (a NumPy archive: arrays, no pickles) for a file or a Redis value."""
        header = {
            "format": FORMAT,
            "product_codes": self.product_codes,
            "user_tags": sorted(self.user_tags, key=self.user_tags.__getitem__),
        }
        arrays: dict[str, Any] = {
            "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            "item_vectors": self.item_vectors,
            "item_bias": self.item_bias,
            "tag_vectors": self.tag_vectors,
            "trend": self.trend,
        }
        if self.purchase is not None and self.likeness is not None:
            for name, graph in (("purchase", self.purchase), ("likeness", self.likeness)):
                arrays[name] = np.frombuffer(graph.to_bytes(), dtype=np.uint8)
        out = io.BytesIO()
        np.savez(out, **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> VectorIndex:
        with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes())
            if header.get("format") != FORMAT:
                raise ValueError(f"vector index format {header.get('format')}, expected {FORMAT}")
            graphs = [
                Graph.from_bytes(arrays[name].tobytes()) if name in arrays else None
                for name in ("purchase", "likeness")
            ]
            return cls(
                list(header["product_codes"]),
                arrays["item_vectors"],
                arrays["item_bias"],
                {tag: n for n, tag in enumerate(header["user_tags"])},
                arrays["tag_vectors"],
                graphs[0],
                graphs[1],
                arrays["trend"],
            )


def build(model: HybridModel, exact_up_to: int | None = None) -> VectorIndex:
    """The index of a trained model's item vectors (and its user-tag embeddings)."""
    vectors = np.asarray(model.item_vectors, dtype=np.float32)
    tags = dict(model.users.tags)  # tag -> column in the user feature space
    ordered = sorted(tags, key=tags.__getitem__)
    columns = [tags[t] for t in ordered]
    tag_vectors = np.asarray(model.embeddings.user_embeddings[columns], dtype=np.float32)
    if tag_vectors.ndim != 2 or not len(ordered):
        tag_vectors = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    user_rows = {tag: n for n, tag in enumerate(ordered)}
    return indexed(
        list(model.product_codes),
        vectors,
        model.item_bias,
        user_rows,
        tag_vectors,
        exact_up_to,
        model.trend,
    )


def indexed(
    product_codes: list[str],
    vectors: Floats,
    bias: Floats,
    user_tags: dict[str, int] | None = None,
    tag_vectors: Floats | None = None,
    exact_up_to: int | None = None,
    trend: Floats | None = None,
) -> VectorIndex:
    """An index over any item vectors and biases (`build` gives it a model's)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    bias = np.asarray(bias, dtype=np.float32)
    blend = np.zeros(0, np.float32) if trend is None else np.asarray(trend, np.float32)
    if len(blend) != len(product_codes):
        blend = np.zeros(0, np.float32)
    limit = ann_exact_up_to() if exact_up_to is None else exact_up_to
    purchase = likeness = None
    if len(product_codes) > limit:
        purchase = Graph.over(augmented_items(vectors, bias, blend))
        likeness = Graph.over(_unit(vectors))
    tags = np.zeros((0, vectors.shape[1]), np.float32) if tag_vectors is None else tag_vectors
    return VectorIndex(
        product_codes, vectors, bias, user_tags or {}, tags, purchase, likeness, blend
    )


def augmented_items(vectors: Floats, bias: Floats, trend: Floats | None = None) -> Floats:
    """Rows `[v, b, t, r] / M`, all of norm 1, whose cosine with `[u, 1, s, 0]` orders items
    as `u . v + b + s t` does (the inner product search reduced to cosine, Bachrach et al.
    2014); `t` is 0 without a trend."""
    column = np.zeros(len(bias)) if trend is None or len(trend) != len(bias) else trend
    rows = np.hstack(
        [
            vectors,
            np.asarray(bias, np.float32).reshape(-1, 1),
            np.asarray(column, np.float32).reshape(-1, 1),
        ]
    ).astype(np.float64)
    squares = (rows * rows).sum(axis=1)
    top = float(squares.max()) if len(squares) else 1.0
    top = top or 1.0
    rest = np.sqrt(np.maximum(top - squares, 0.0)).reshape(-1, 1)
    return np.asarray(np.hstack([rows, rest]) / math.sqrt(top), dtype=np.float32)


def _unit(vectors: Floats) -> Floats:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True) if vectors.size else vectors[:, :1]
    return np.asarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def _top(scores: NDArray[Any], count: int) -> NDArray[np.int64]:
    count = min(count, len(scores))
    rows = np.argpartition(-scores, count - 1)[:count]
    return np.asarray(rows[np.argsort(-scores[rows], kind="stable")], dtype=np.int64)
