"""What the recommender learns from, as read from the event log: products, customers and their
interactions. Plain values, so the model and the rules never see an aggregate or a store."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.promotions import Promotion

PURCHASE = "purchase"
RETURN = "return"
RATING = "rating"
WISHLIST = "wishlist"
# Implicit signals: recent behaviour read from ClickHouse (recommender/behaviour_signals.py).
VIEW = "view"
ADD_TO_CART = "add_to_cart"
RECOMMENDATION_CLICK = "recommendation_click"
BEHAVIOUR = (VIEW, ADD_TO_CART, RECOMMENDATION_CLICK)


@dataclass(frozen=True)
class ProductFacts:
    product_code: str
    category: str
    inci: tuple[str, ...]
    skin_types: tuple[str, ...]
    skus: tuple[str, ...] = ()
    name: str = ""
    brand: str = ""
    discontinued: bool = False
    promotions: tuple[Promotion, ...] = ()  # scheduled and not withdrawn, past ones included


FRAGRANCE_FREE = "fragrance_free"


@dataclass(frozen=True)
class SafetyFacts:
    """What protects a customer on every list shown to them, consented or not: the allergies
    they declared and a fragrance-free preference. It may exclude a product, never rank one."""

    allergies: tuple[str, ...] = ()
    fragrance_free: bool = False


@dataclass(frozen=True)
class CustomerFacts:
    """A customer as the recommender may see them. Without `personalisation` consent (or once
    forgotten) only their safety facts are read, no other part of the profile is used, and no
    personal model is."""

    customer_id: str
    skin_type: str | None = None
    concerns: tuple[str, ...] = ()
    allergies: tuple[str, ...] = ()
    preferences: tuple[str, ...] = ()
    personalisation: bool = False
    forgotten: bool = False
    locations: tuple[str, ...] = ()

    @property
    def may_personalise(self) -> bool:
        return self.personalisation and not self.forgotten

    @property
    def safety(self) -> SafetyFacts:
        return SafetyFacts(self.allergies, FRAGRANCE_FREE in self.preferences)


@dataclass(frozen=True)
class Interaction:
    customer_id: str
    product_code: str
    kind: str  # purchase, return, rating, wishlist; view, add_to_cart, recommendation_click
    at: datetime  # for behaviour: the last time it happened
    value: float = 1.0  # units bought or returned; stars for a rating; behaviour: decayed count
    location: str | None = None


@dataclass(frozen=True)
class SkuPrice:
    """A SKU's price as the catalog events last set it (`Sku.Defined`, `Sku.Repriced`)."""

    price: str  # decimal text, as the event has it
    currency: str
    size: str = ""  # the variant's size attribute, e.g. "30ML"


@dataclass
class LogSignals:
    products: dict[str, ProductFacts] = field(default_factory=dict)
    customers: dict[str, CustomerFacts] = field(default_factory=dict)
    interactions: list[Interaction] = field(default_factory=list)
    sku_products: dict[str, str] = field(default_factory=dict)
    position: int = 0  # the last notification read from the inventory log
    sku_prices: dict[str, SkuPrice] = field(default_factory=dict)

    def extended(self, newer: LogSignals) -> LogSignals:
        """These signals followed by those read since `position` (incremental training)."""
        return LogSignals(
            products={**self.products, **newer.products},
            customers={**self.customers, **newer.customers},
            interactions=[*self.interactions, *newer.interactions],
            sku_products={**self.sku_products, **newer.sku_products},
            position=max(self.position, newer.position),
            sku_prices={**self.sku_prices, **newer.sku_prices},
        )

    def consented(self) -> LogSignals:
        """Only what personalisation may use: interactions of consenting, unforgotten customers."""
        allowed = {c for c, facts in self.customers.items() if facts.may_personalise}
        return replace(
            self,
            interactions=[i for i in self.interactions if i.customer_id in allowed],
        )
