"""Kits and gift sets: a kit SKU sold as a set of component SKUs.

A kit is its own aggregate, keyed by the kit's SKU, beside the catalog's `Sku` (which still
gives the kit its price and its product): the catalog's events and their published contracts
stay as they are, a kit's make-up changes by its own events, and sourcing loads one aggregate
to learn it. A kit holds no stock of its own: selling one takes every component, FEFO per
component, from one location where possible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidCommandError
from domain.ids import kit_id
from domain.sourcing import LineToSource, require_kit_part
from domain.trace import Trace


class Kit(Aggregate):
    class Defined(Aggregate.Created):
        sku: str
        components: dict[str, int]  # component SKU -> units in one kit
        trace: Trace

    class Recomposed(Aggregate.Event):
        components: dict[str, int]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Kit)
            aggregate.components = dict(self.components)

    def __init__(self, sku: str, components: dict[str, int], trace: Trace) -> None:
        self.sku = sku
        self.components = dict(components)

    @classmethod
    def create_id(cls, sku: str, **_: Any) -> UUID:
        return kit_id(sku)

    @classmethod
    def define(
        cls, sku: str, components: Mapping[str, int], trace: Trace, kits: Iterable[str] = ()
    ) -> Kit:
        """`kits`: the SKUs that are kits themselves (a kit is not made of kits)."""
        checked = require_components(sku, components, kits)
        return cls._create(cls.Defined, sku=sku, components=checked, trace=trace)

    def recompose(
        self, components: Mapping[str, int], trace: Trace, kits: Iterable[str] = ()
    ) -> None:
        checked = require_components(self.sku, components, kits)
        if checked != self.components:
            self.trigger_event(self.Recomposed, components=checked, trace=trace)

    def parts(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.components.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "components": dict(self.components), "version": self.version}


def require_components(
    sku: str, components: Mapping[str, int], kits: Iterable[str] = ()
) -> dict[str, int]:
    if not components:
        raise InvalidCommandError(f"kit {sku} needs at least one component SKU")
    nested = sorted({sku, *kits} & set(components))
    if nested:
        raise InvalidCommandError(
            f"kit {sku} cannot contain {', '.join(nested)}: expected plain SKUs, not kits"
        )
    for component, quantity in components.items():
        require_kit_part(sku, component, quantity)
    return dict(sorted(components.items()))


def kit_availability(components: Mapping[str, int], available: Mapping[str, int]) -> int:
    """Kits that can be made of the available components: the fewest over its components."""
    return min(max(0, available.get(sku, 0)) // per for sku, per in components.items())


def lines_to_source(
    lines: Iterable[tuple[str, str, int]], kits: Mapping[str, Kit]
) -> list[LineToSource]:
    """Order lines (line id, SKU, quantity) as sourcing takes them: a kit's line names its
    components, so each kit is taken whole from one location where possible."""
    return [
        LineToSource(line_id, sku, quantity, kits[sku].parts() if sku in kits else ())
        for line_id, sku, quantity in lines
    ]
