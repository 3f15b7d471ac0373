"""Versioned model artefacts: `<root>/v0001/` holds the embeddings (`embeddings.npz`), the
feature spaces and training position (`model.json`), its evaluation, the log state a
`--since-last` run continues from (`log_state.json`), and the vector index over its item
vectors (`vector_index.npz`, `recommender/vector_index.py`), published with the model."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from recommender.artefact_versions import versions
from recommender.features import FeatureSpace
from recommender.hybrid import HybridModel
from recommender.inventory_signals import InventoryFold
from recommender.lightfm_core import Embeddings
from recommender.signals import Interaction
from recommender.vector_index import VectorIndex, build

__all__ = ["load", "load_fold", "load_index", "next_version", "save", "versions"]
INDEX_FILE = "vector_index.npz"


def next_version(root: Path) -> Path:
    found = versions(root)
    number = int(found[-1].name[1:]) + 1 if found else 1
    return root / f"v{number:04d}"


def save(directory: Path, model: HybridModel, fold: InventoryFold, meta: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=False)
    e = model.embeddings
    np.savez_compressed(
        directory / "embeddings.npz",
        user_embeddings=e.user_embeddings,
        user_biases=e.user_biases,
        item_embeddings=e.item_embeddings,
        item_biases=e.item_biases,
        item_vectors=model.item_vectors,
        item_bias=model.item_bias,
        trend=model.trend,
    )
    document = {
        **meta,
        "version": directory.name,
        "trained_until": model.trained_until.isoformat(),
        "position": model.position,
        "users": list(model.users.ids),
        "user_tags": list(model.users.tags),
        "items": list(model.items.ids),
        "item_tags": list(model.items.tags),
        "product_codes": model.product_codes,
        "negative": sorted([c, p] for c, p in model.negative),
    }
    (directory / "model.json").write_text(json.dumps(document, indent=1))
    (directory / "log_state.json").write_text(json.dumps(_fold_json(fold)))
    (directory / INDEX_FILE).write_bytes(build(model).to_bytes())
    return directory


def load_index(directory: Path) -> VectorIndex:
    """The version's vector index; built from its embeddings if the version predates it."""
    path = directory / INDEX_FILE
    if path.exists():
        return VectorIndex.from_bytes(path.read_bytes())
    model, _ = load(directory)
    return build(model)


def load(directory: Path) -> tuple[HybridModel, dict[str, Any]]:
    meta = json.loads((directory / "model.json").read_text())
    arrays = np.load(directory / "embeddings.npz")
    embeddings = Embeddings(
        arrays["user_embeddings"],
        arrays["user_biases"],
        arrays["item_embeddings"],
        arrays["item_biases"],
    )
    model = HybridModel(
        FeatureSpace(meta["users"], meta["user_tags"]),
        FeatureSpace(meta["items"], meta["item_tags"]),
        meta["product_codes"],
        embeddings,
        datetime.fromisoformat(meta["trained_until"]),
        int(meta["position"]),
        {(c, p) for c, p in meta["negative"]},
        arrays["item_vectors"],
        arrays["item_bias"],
    )
    if "trend" in arrays.files:  # versions saved before the trend blend have none
        model.trend = arrays["trend"]
    return model, meta


def load_fold(directory: Path) -> InventoryFold:
    data = json.loads((directory / "log_state.json").read_text())
    interactions = [
        Interaction(
            i["customer_id"],
            i["product_code"],
            i["kind"],
            datetime.fromisoformat(i["at"]),
            i["value"],
            i["location"],
        )
        for i in data.pop("interactions")
    ]
    shelves = {k: (v[0], v[1]) for k, v in data.pop("shelves").items()}
    return InventoryFold(**data, shelves=shelves, interactions=interactions)


def _fold_json(fold: InventoryFold) -> dict[str, Any]:
    data = asdict(fold)
    data["interactions"] = [{**asdict(i), "at": i.at.isoformat()} for i in fold.interactions]
    data["shelves"] = {k: list(v) for k, v in fold.shelves.items()}
    return data
