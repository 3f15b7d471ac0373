"""The features the hybrid model learns from. Items: category, ingredient families, the skin
types a product suits. Users: skin type, concerns, preferences (only with personalisation
consent: a customer without it is never passed here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from recommender.ingredient_families import families_of
from recommender.lightfm_core import Ints, Matrix, normalised
from recommender.signals import CustomerFacts, ProductFacts


def item_tags(product: ProductFacts) -> list[str]:
    tags = [f"category:{product.category}"]
    tags += [f"brand:{product.brand}"] if product.brand else []
    tags += [f"family:{family}" for family in sorted(families_of(product.inci))]
    tags += [f"suits:{skin}" for skin in product.skin_types]
    return tags


def user_tags(customer: CustomerFacts) -> list[str]:
    tags = [f"skin:{customer.skin_type}"] if customer.skin_type else []
    tags += [f"concern:{concern}" for concern in customer.concerns]
    tags += [f"prefers:{preference}" for preference in customer.preferences]
    return tags


class FeatureSpace:
    """Columns: one identity column per known id, then one per tag seen in training."""

    def __init__(self, ids: Sequence[str], tags: Iterable[str]) -> None:
        self.ids = {key: n for n, key in enumerate(ids)}
        self.tags = {tag: len(self.ids) + n for n, tag in enumerate(sorted(set(tags)))}

    @classmethod
    def laid_out(cls, ids: Sequence[str], tags: Sequence[str]) -> FeatureSpace:
        """The space with its columns in exactly this order (as an artefact saved them: a
        grown space's new tags come after the old ones, not in sorted order)."""
        space = cls(ids, ())
        space.tags = {tag: len(space.ids) + n for n, tag in enumerate(dict.fromkeys(tags))}
        return space

    def grown(self, ids: Sequence[str], tags: Iterable[str]) -> tuple[FeatureSpace, Ints]:
        """A space of `ids` (kept ones in their order, then new ones) and these tags plus the
        new ones after them; with, per column of the new space, its column here or -1."""
        wanted = set(ids)
        kept = [key for key in self.ids if key in wanted]
        ordered = kept + sorted(wanted - set(kept))
        new_tags = sorted(set(tags) - set(self.tags))
        space = FeatureSpace.laid_out(ordered, [*self.tags, *new_tags])
        old = [self.ids.get(key, -1) for key in ordered]
        old += [self.tags.get(tag, -1) for tag in space.tags]
        return space, np.asarray(old, dtype=np.int64)

    @property
    def width(self) -> int:
        return len(self.ids) + len(self.tags)

    def rows(self, rows: Sequence[tuple[str | None, list[str]]]) -> Matrix:
        """One row per (id or None for a newcomer, tags); unknown tags are ignored."""
        row_ids, columns = [], []
        for n, (key, tags) in enumerate(rows):
            wanted = [self.ids[key]] if key in self.ids else []
            wanted += [self.tags[t] for t in tags if t in self.tags]
            row_ids += [n] * len(wanted)
            columns += wanted
        data = np.ones(len(columns), dtype=np.float32)
        matrix = sp.csr_matrix((data, (row_ids, columns)), shape=(len(rows), self.width))
        return normalised(matrix)
