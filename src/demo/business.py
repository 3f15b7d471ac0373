"""A year of a synthetic cosmetics business, driven by suitability: customers buy products that
suit their skin type and concerns (and their favourite brand), avoid their allergens, return
what does not suit them and rate what they bought. Deterministic for a seed."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from demo import formulas as f
from domain.promotions import Promotion
from recommender.signals import (
    PURCHASE,
    RATING,
    RETURN,
    CustomerFacts,
    Interaction,
    LogSignals,
    ProductFacts,
    SkuPrice,
)

SKIN_TYPES = ("dry", "oily", "combination", "normal", "sensitive")
SKIN_SHARES = (0.22, 0.2, 0.28, 0.18, 0.12)
CATEGORY_SHARES = {
    "cleanser": 0.22,
    "serum": 0.26,
    "moisturiser": 0.26,
    "sunscreen": 0.12,
    "body care": 0.11,
    "tools": 0.03,
}
ALLERGENS = ("LIMONENE", "LINALOOL", "PARFUM", "SALICYLIC ACID", "PHENOXYETHANOL", "RETINOL")
STORES = (
    ("STORE-PAR", "Paris Marais", 48.857, 2.359),
    ("STORE-LYO", "Lyon Part-Dieu", 45.760, 4.859),
    ("STORE-BER", "Berlin Mitte", 52.520, 13.405),
    ("STORE-MAD", "Madrid Sol", 40.417, -3.704),
    ("STORE-MIL", "Milan Brera", 45.472, 9.187),
    ("STORE-AMS", "Amsterdam Centrum", 52.372, 4.900),
)
WAREHOUSE = ("WH-CENTRAL", "Central fulfilment", 50.110, 8.682)
PROMOTIONS = 6  # a few products on promotion in the year (and one through December)
PROMOTION_CHANNELS: tuple[tuple[str, ...], ...] = ((), ("web", "app"), ("pos",))


@dataclass(frozen=True)
class DemoProduct:
    facts: ProductFacts
    brand: str
    concerns: tuple[str, ...]
    appeal: float
    prices: tuple[Decimal, ...]
    fragranced: bool


@dataclass(frozen=True)
class DemoCustomer:
    facts: CustomerFacts
    home: str
    brand: str
    activity: float  # purchases a year


@dataclass(frozen=True)
class Happening:
    kind: str  # purchase, return, rating, wishlist
    customer_id: str
    product_code: str
    sku: str
    location: str
    channel: str
    at: datetime
    value: float = 1.0


@dataclass
class Business:
    products: dict[str, DemoProduct]
    customers: dict[str, DemoCustomer]
    happenings: list[Happening] = field(default_factory=list)
    start: datetime = datetime(2025, 11, 1, tzinfo=UTC)
    end: datetime = datetime(2026, 11, 1, tzinfo=UTC)

    def signals(self, until: datetime | None = None) -> LogSignals:
        """What the event log would yield up to `until`, without going through a store."""
        cut = until or self.end
        return LogSignals(
            products={code: p.facts for code, p in self.products.items()},
            customers={cid: c.facts for cid, c in self.customers.items()},
            interactions=[
                Interaction(h.customer_id, h.product_code, h.kind, h.at, h.value, h.location)
                for h in self.happenings
                if h.at < cut
            ],
            sku_products={sku: code for code, p in self.products.items() for sku in p.facts.skus},
            sku_prices={
                sku: SkuPrice(str(price), "EUR", sku.rsplit("-", 1)[-1])
                for p in self.products.values()
                for sku, price in zip(p.facts.skus, p.prices, strict=True)
            },
        )


def generate(products: int = 300, customers: int = 2000, seed: int = 7) -> Business:
    rng = random.Random(seed)
    catalog = _catalog(rng, products)
    people = _customers(rng, customers)
    business = Business(catalog, people)
    by_category: dict[str, list[DemoProduct]] = {}
    for product in catalog.values():
        by_category.setdefault(product.facts.category, []).append(product)
    for customer in people.values():
        business.happenings += _year_of(rng, customer, by_category, business.start)
    business.happenings.sort(key=lambda h: h.at)
    _promote(random.Random(seed * 7919 + 1), business)  # its own draws: the year stays as it was
    return business


def _promote(rng: random.Random, business: Business) -> None:
    """A few promotions of 2-4 weeks in the year, 10-30% off, on every channel, online or in
    store; the last one runs from the year's end through December."""
    codes = sorted(business.products)
    chosen = rng.sample(codes, min(PROMOTIONS, len(codes)))
    for n, code in enumerate(chosen):
        if n == len(chosen) - 1:
            starts = business.end
            ends = datetime(business.end.year + 1, 1, 1, tzinfo=UTC)
        else:
            starts = business.start + timedelta(days=rng.randint(20, 320))
            ends = starts + timedelta(days=rng.randint(14, 28))
        promotion = Promotion(
            f"00000000-0000-4000-9000-{n:012d}",
            rng.choice((10, 15, 20, 25, 30)),
            starts,
            ends,
            rng.choice(PROMOTION_CHANNELS),
        )
        product = business.products[code]
        facts = replace(product.facts, promotions=(*product.facts.promotions, promotion))
        business.products[code] = replace(product, facts=facts)


def _catalog(rng: random.Random, count: int) -> dict[str, DemoProduct]:
    categories, shares = zip(*CATEGORY_SHARES.items(), strict=True)
    products = {}
    for n in range(count):
        category = rng.choices(categories, shares)[0]
        product = _product(rng, n, category)
        products[product.facts.product_code] = product
    return products


def _product(rng: random.Random, n: int, category: str) -> DemoProduct:
    code = f"P{n:04d}"
    brand = rng.choice(f.BRANDS)
    target = rng.choices(SKIN_TYPES, SKIN_SHARES)[0]
    concerns = tuple(sorted(set(rng.sample(sorted(f.ACTIVES), rng.randint(1, 2)))))
    if target == "sensitive":
        concerns = tuple(c for c in concerns if c not in ("acne", "ageing", "dullness")) or (
            "redness",
        )
    inci = list(f.BASES[category])
    if category == "sunscreen":
        inci[1:1] = rng.choice(f.UV_FILTERS)
    if category != "tools":
        for concern in concerns:
            inci.append(rng.choice(f.ACTIVES[concern]))
        inci += rng.sample(f.SKIN_EXTRAS[target], 1)
        inci += rng.choice(f.PRESERVATIVES)
    fragranced = category != "tools" and target != "sensitive" and rng.random() < 0.35
    if fragranced:
        inci += [f.FRAGRANCE[0], *rng.sample(f.FRAGRANCE[1:], rng.randint(1, 3))]
    if category == "serum" and "pigmentation" in concerns and rng.random() < 0.15:
        inci.insert(3, f.BANNED[0])
    suits = {target}
    if target in ("normal", "combination"):
        suits |= {"normal", "combination"}
    if target == "sensitive":
        suits |= {"normal", "dry"}
    skus = tuple(
        f"{code}-{size}" for size in rng.sample(("30ML", "50ML", "100ML"), rng.randint(1, 2))
    )
    if category == "tools":
        skus, suits = (f"{code}-ONE",), set(SKIN_TYPES)
    name = f"{brand} {f.CONCERN_WORDS[concerns[0]]} {rng.choice(f.NAMES[category])}"
    facts = ProductFacts(
        code, category, tuple(dict.fromkeys(inci)), tuple(sorted(suits)), skus, name, brand
    )
    price = Decimal(rng.randint(8, 60)) + Decimal("0.90")
    prices = tuple(price + Decimal(8 * k) for k in range(len(skus)))
    return DemoProduct(facts, brand, concerns, rng.gauss(0, 0.7), prices, fragranced)


def _customers(rng: random.Random, count: int) -> dict[str, DemoCustomer]:
    people = {}
    for n in range(count):
        skin = rng.choices(SKIN_TYPES, SKIN_SHARES)[0]
        concerns = tuple(sorted(set(rng.sample(sorted(f.ACTIVES), rng.randint(1, 3)))))
        allergies = tuple(rng.sample(ALLERGENS, 1)) if rng.random() < 0.12 else ()
        fragrance_free = skin == "sensitive" or rng.random() < 0.15
        customer_id = f"00000000-0000-4000-8000-{n:012d}"
        facts = CustomerFacts(
            customer_id,
            skin,
            concerns,
            allergies,
            ("fragrance_free",) if fragrance_free else (),
            personalisation=rng.random() < 0.85,
        )
        home = rng.choice(STORES)[0]
        people[customer_id] = DemoCustomer(facts, home, rng.choice(f.BRANDS), rng.uniform(3, 12))
    return people


def utility(customer: DemoCustomer, product: DemoProduct) -> float:
    facts, p = customer.facts, product.facts
    if any(a in p.inci for a in facts.allergies):
        return -50.0  # they read labels
    score = product.appeal + (2.0 if facts.skin_type in p.skin_types else -1.0)
    score += 1.2 * len(set(facts.concerns) & set(product.concerns))
    score += 1.5 if product.brand == customer.brand else 0.0
    if product.fragranced and "fragrance_free" in facts.preferences:
        score -= 3.0
    return score


def _year_of(
    rng: random.Random,
    customer: DemoCustomer,
    by_category: dict[str, list[DemoProduct]],
    start: datetime,
) -> list[Happening]:
    happenings: list[Happening] = []
    kept: dict[str, list[DemoProduct]] = {}
    bought: set[str] = set()
    categories, shares = zip(*CATEGORY_SHARES.items(), strict=True)
    for _ in range(_poisson(rng, customer.activity)):
        at = start + timedelta(seconds=rng.uniform(0, 365 * 86_400))
        category = rng.choices(categories, shares)[0]
        owned = kept.get(category, [])
        if owned and category != "tools" and rng.random() < 0.35:
            product: DemoProduct | None = rng.choice(owned)
        else:
            product = _choose(rng, customer, by_category.get(category, []), bought)
        if product is None:
            continue
        happenings += _purchase(rng, customer, product, at, kept)
        bought.add(product.facts.product_code)
    return happenings


def _choose(
    rng: random.Random, customer: DemoCustomer, products: list[DemoProduct], bought: set[str]
) -> DemoProduct | None:
    options = [
        p for p in products if p.facts.category != "tools" or p.facts.product_code not in bought
    ]
    if not options:
        return None
    weights = [math.exp(min(utility(customer, p), 8.0)) for p in options]
    return rng.choices(options, weights)[0]


def _purchase(
    rng: random.Random,
    customer: DemoCustomer,
    product: DemoProduct,
    at: datetime,
    kept: dict[str, list[DemoProduct]],
) -> list[Happening]:
    channel = rng.choices(("pos", "web", "app"), (0.5, 0.35, 0.15))[0]
    location = customer.home if channel == "pos" else WAREHOUSE[0]
    sku = rng.choice(product.facts.skus)
    code = product.facts.product_code
    cid = customer.facts.customer_id
    units = 1 if rng.random() < 0.85 else 2
    out = [Happening(PURCHASE, cid, code, sku, location, channel, at, units)]
    u = utility(customer, product)
    if rng.random() < 0.02 + (0.3 if u < 1.0 else 0.0):
        returned = at + timedelta(days=rng.uniform(2, 25))
        out.append(Happening(RETURN, cid, code, sku, location, channel, returned, units))
        u -= 3.0
    else:
        kept.setdefault(product.facts.category, []).append(product)
    if rng.random() < 0.3:
        stars = max(1, min(5, round(3 + 0.6 * u + rng.gauss(0, 0.7))))
        rated = at + timedelta(days=rng.uniform(5, 40))
        out.append(Happening(RATING, cid, code, sku, location, channel, rated, float(stars)))
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
