"""Versioned model artefacts: `<root>/v0001/` holds the embeddings and LightFM's learner state
(`embeddings.npz`), the feature spaces, training position and the version's record (`model.json`:
its kind, log positions, hold-out, both models' figures, promoted or refused and why), the log
state the next run continues from (`log_state.json`), and the vector index over its item vectors
(`vector_index.npz`, `recommender/vector_index.py`), published with the model. Which version
serves is a pointer of its own (`serving_pointer.py`)."""

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
from recommender.lightfm_core import Embeddings, LearnerState
from recommender.signals import Interaction
from recommender.vector_index import VectorIndex, build

__all__ = [
    "drop_fold",
    "has_fold",
    "load",
    "load_fold",
    "load_index",
    "next_version",
    "record",
    "save",
    "versions",
]
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
        **_state_arrays(e.state),
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
    (directory / "log_state.json").write_text(json.dumps(_fold_json(fold)))
    (directory / INDEX_FILE).write_bytes(build(model).to_bytes())
    # model.json last, whole or not at all: a folder without it is not a version (versions()).
    partial = directory / ".model.json.partial"
    partial.write_text(json.dumps(document, indent=1))
    partial.replace(directory / "model.json")
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
        _state(arrays),
    )
    model = HybridModel(  # the spaces' columns as saved (a grown space's are not sorted)
        FeatureSpace.laid_out(meta["users"], meta["user_tags"]),
        FeatureSpace.laid_out(meta["items"], meta["item_tags"]),
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


def record(directory: Path) -> dict[str, Any]:
    """The version's model.json without the feature spaces (what `glow recommend versions`
    lists: kind, positions, hold-out, figures, the gate's decision)."""
    meta: dict[str, Any] = json.loads((directory / "model.json").read_text())
    for bulky in ("users", "user_tags", "items", "item_tags", "product_codes", "negative"):
        meta.pop(bulky, None)
    return meta


_STATE = (
    "user_embedding_gradients",
    "user_bias_gradients",
    "item_embedding_gradients",
    "item_bias_gradients",
)


def _state_arrays(state: LearnerState | None) -> dict[str, Any]:
    if state is None:
        return {}
    return {f"state_{name}": getattr(state, name) for name in _STATE}


def _state(arrays: Any) -> LearnerState | None:
    """The learner state, or None for an artefact saved before it was kept."""
    if not all(f"state_{name}" in arrays for name in _STATE):
        return None
    return LearnerState(*(arrays[f"state_{name}"] for name in _STATE))


def has_fold(directory: Path) -> bool:
    return (directory / "log_state.json").exists()


def drop_fold(directory: Path) -> None:
    """Remove a version's log state (every interaction it read, by customer id) once nothing
    will continue from it: kept only by the serving version (and the newest), a version
    served again later reads the log from its start instead (the same interactions)."""
    (directory / "log_state.json").unlink(missing_ok=True)


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
