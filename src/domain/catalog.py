"""Products and their variant SKUs (shade, size, scent, formula), each event-sourced."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import BatchNotSellableError, ProductDiscontinuedError
from domain.ids import product_id, sku_id
from domain.promotions import Promotion, require_schedulable, require_withdrawable
from domain.trace import Trace

SKIN_TYPES = frozenset({"dry", "oily", "combination", "normal", "sensitive"})


class Product(Aggregate):
    """A product line (one formula family) as sold under a brand, with its INCI list."""

    class Defined(Aggregate.Created):
        product_code: str
        details: dict[str, Any]
        trace: Trace

    class Changed(Aggregate.Event):
        changes: dict[str, Any]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Product)
            aggregate.details = {**aggregate.details, **self.changes}

    class VariantAdded(Aggregate.Event):
        sku: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Product)
            aggregate.skus = [*aggregate.skus, self.sku]

    class Discontinued(Aggregate.Event):
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Product)
            aggregate.discontinued = True

    class PromotionScheduled(Aggregate.Event):
        """A discount on the product for a period, on some channels (none named: all)."""

        promotion_id: str
        discount_percent: int
        starts: datetime
        ends: datetime
        channels: list[str]
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Product)
            promotion = Promotion(
                self.promotion_id,
                self.discount_percent,
                self.starts,
                self.ends,
                tuple(self.channels),
            )
            aggregate.promotions = {**aggregate.promotions, self.promotion_id: promotion}

    class PromotionWithdrawn(Aggregate.Event):
        promotion_id: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Product)
            aggregate.withdrawn_promotions = [*aggregate.withdrawn_promotions, self.promotion_id]

    def __init__(self, product_code: str, details: dict[str, Any], trace: Trace) -> None:
        self.product_code = product_code
        self.details = details
        self.skus: list[str] = []
        self.discontinued = False
        self.promotions: dict[str, Promotion] = {}  # every one ever scheduled, by id
        self.withdrawn_promotions: list[str] = []

    @classmethod
    def create_id(cls, product_code: str, **_: Any) -> UUID:
        return product_id(product_code)

    @classmethod
    def define(cls, product_code: str, details: dict[str, Any], trace: Trace) -> Product:
        return cls._create(cls.Defined, product_code=product_code, details=details, trace=trace)

    def change(self, changes: dict[str, Any], trace: Trace) -> None:
        self._require_current()
        if changes:
            self.trigger_event(self.Changed, changes=changes, trace=trace)

    def add_variant(self, sku: str) -> None:
        self._require_current()
        self.trigger_event(self.VariantAdded, sku=sku)

    def discontinue(self, trace: Trace) -> None:
        if not self.discontinued:
            self.trigger_event(self.Discontinued, trace=trace)

    def schedule_promotion(self, promotion: Promotion, trace: Trace) -> None:
        """Refused for a discontinued product, an id already used, a period that is not one
        (ends before it starts, or already over when scheduled), a discount outside 1-99%,
        or an overlap with a promotion of this product on a shared channel."""
        self._require_current()
        require_schedulable(
            self.product_code, promotion, self.live_promotions(), self.promotions, trace
        )
        self.trigger_event(
            self.PromotionScheduled,
            promotion_id=promotion.promotion_id,
            discount_percent=promotion.discount_percent,
            starts=promotion.starts,
            ends=promotion.ends,
            channels=list(promotion.channels),
            trace=trace,
        )

    def withdraw_promotion(self, promotion_id: str, trace: Trace) -> bool:
        """Withdraw a scheduled promotion; False (and nothing recorded) if it already was."""
        require_withdrawable(self.product_code, promotion_id, self.promotions)
        if promotion_id in self.withdrawn_promotions:
            return False
        self.trigger_event(self.PromotionWithdrawn, promotion_id=promotion_id, trace=trace)
        return True

    def live_promotions(self) -> list[Promotion]:
        """Scheduled and not withdrawn (past ones included: they ended on their own)."""
        withdrawn = set(self.withdrawn_promotions)
        return [p for key, p in self.promotions.items() if key not in withdrawn]

    def _require_current(self) -> None:
        if self.discontinued:
            raise ProductDiscontinuedError(
                f"product {self.product_code!r} is discontinued and can no longer change",
                product_code=self.product_code,
            )


class Sku(Aggregate):
    """One sellable variant of a product: the unit stock is counted in."""

    class Defined(Aggregate.Created):
        sku: str
        product_code: str
        attributes: dict[str, str]
        price: Decimal
        currency: str
        trace: Trace

    class Repriced(Aggregate.Event):
        price: Decimal
        currency: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Sku)
            aggregate.price, aggregate.currency = self.price, self.currency

    class Discontinued(Aggregate.Event):
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Sku)
            aggregate.discontinued = True

    class BatchRecalled(Aggregate.Event):
        """Kept on the SKU so that a recalled batch can never come back into stock anywhere."""

        batch: str
        trace: Trace

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Sku)
            aggregate.recalled_batches = [*aggregate.recalled_batches, self.batch]

    def __init__(
        self,
        sku: str,
        product_code: str,
        attributes: dict[str, str],
        price: Decimal,
        currency: str,
        trace: Trace,
    ) -> None:
        self.sku = sku
        self.product_code = product_code
        self.attributes = attributes
        self.price = price
        self.currency = currency
        self.discontinued = False
        self.recalled_batches: list[str] = []

    @classmethod
    def create_id(cls, sku: str, **_: Any) -> UUID:
        return sku_id(sku)

    @classmethod
    def define(
        cls,
        sku: str,
        product_code: str,
        attributes: dict[str, str],
        price: Decimal,
        currency: str,
        trace: Trace,
    ) -> Sku:
        return cls._create(
            cls.Defined,
            sku=sku,
            product_code=product_code,
            attributes=attributes,
            price=price,
            currency=currency,
            trace=trace,
        )

    def reprice(self, price: Decimal, currency: str, trace: Trace) -> None:
        if (price, currency) != (self.price, self.currency):
            self.trigger_event(self.Repriced, price=price, currency=currency, trace=trace)

    def discontinue(self, trace: Trace) -> None:
        if not self.discontinued:
            self.trigger_event(self.Discontinued, trace=trace)

    def recall_batch(self, batch: str, trace: Trace) -> None:
        if batch in self.recalled_batches:
            raise BatchNotSellableError(
                f"batch {batch!r} of {self.sku} is already recalled", sku=self.sku, batch=batch
            )
        self.trigger_event(self.BatchRecalled, batch=batch, trace=trace)

    def require_not_recalled(self, batch: str, action: str) -> None:
        if batch in self.recalled_batches:
            raise BatchNotSellableError(
                f"batch {batch!r} of {self.sku} is recalled and {action}",
                sku=self.sku,
                batch=batch,
            )
