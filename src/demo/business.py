"""A year of a synthetic cosmetics business, driven by suitability: customers buy products that
suit their skin type and concerns (and their favourite brand), avoid their allergens, return
what does not suit them and rate what they bought. Deterministic for a seed.

Demand is seasonal as a retailer's is: stores sell most on Saturdays (and little on Sundays),
online a little more on Sundays and Mondays; everything peaks in December; sunscreen sells in
summer. Each purchase's instant is drawn uniformly over the year and carried through the
inverse of the seasonal intensity's cumulative distribution (no extra draws: the customers,
products and channels of a seed stay what they were). Promotions lift their product's sales
during their windows: extra purchases on the promotion's channels, drawn with their own Random
after the year."""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

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
CHANNELS = ("pos", "web", "app")
CHANNEL_SHARES = (0.5, 0.35, 0.15)
YEAR_SECONDS = 365 * 86_400
# Relative sales by weekday (Monday first): stores on Saturdays, online on Sundays and Mondays.
WEEKDAY_INTENSITY = {
    "pos": (0.85, 0.85, 0.9, 0.95, 1.15, 1.9, 0.4),
    "web": (1.1, 0.95, 0.95, 0.9, 0.9, 0.95, 1.25),
    "app": (1.1, 0.95, 0.95, 0.9, 0.9, 0.95, 1.25),
}
DECEMBER_PEAK = 1.7  # December's sales over an ordinary month's
SUMMER_SUNSCREEN = 4.0  # sunscreen in mid-July over its winter sales
PROMOTION_LIFT_PER_PERCENT = 0.05  # 20% off: sales x 2 on the promotion's channels


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
    _promote(random.Random(seed * 7919 + 1), business)  # its own draws: the year stays as it was
    business.happenings.sort(key=lambda h: h.at)
    return business


def _promote(rng: random.Random, business: Business) -> None:
    """A few promotions of 2-4 weeks in the year, 10-30% off, on every channel, online or in
    store; the last one runs from the year's end through December."""
    codes = sorted(business.products)
    chosen = rng.sample(codes, min(PROMOTIONS, len(codes)))
    scheduled: list[tuple[str, Promotion]] = []
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
        scheduled.append((code, promotion))
    lifted = [_promoted_purchases(rng, business, code, p) for code, p in scheduled]
    business.happenings += [h for extra in lifted for h in extra]


def _promoted_purchases(
    rng: random.Random, business: Business, code: str, promotion: Promotion
) -> list[Happening]:
    """Extra purchases of the promoted product in its window (within the year), on its
    channels: the product's usual sales there times the discount's lift, from customers it
    suits (the likelier the more it suits them)."""
    starts, ends = max(promotion.starts, business.start), min(promotion.ends, business.end)
    if ends <= starts:
        return []
    product = business.products[code]
    bought = [h for h in business.happenings if h.kind == PURCHASE and h.product_code == code]
    channels = promotion.channels or CHANNELS
    usual = sum(1 for h in bought if h.channel in channels) / 365
    days = (ends - starts).total_seconds() / 86_400
    extra = _poisson(rng, usual * days * PROMOTION_LIFT_PER_PERCENT * promotion.discount_percent)
    people = sorted(business.customers.values(), key=lambda c: c.facts.customer_id)
    weights = [math.exp(min(utility(c, product), 8.0)) for c in people]
    shares = [CHANNEL_SHARES[CHANNELS.index(c)] for c in channels]
    out: list[Happening] = []
    for _ in range(extra):
        customer = rng.choices(people, weights)[0]
        channel = rng.choices(channels, shares)[0]
        at = starts + timedelta(seconds=rng.uniform(0, (ends - starts).total_seconds()))
        location = customer.home if channel == "pos" else WAREHOUSE[0]
        units = 1 if rng.random() < 0.85 else 2
        sku = rng.choice(product.facts.skus)
        cid = customer.facts.customer_id
        out.append(Happening(PURCHASE, cid, code, sku, location, channel, at, units))
    return out


def seasonal_intensity(day: datetime, category: str, channel: str) -> float:
    """Relative sales on `day` of a product of `category` on `channel` (1: an ordinary day)."""
    weekly = WEEKDAY_INTENSITY.get(channel, WEEKDAY_INTENSITY["web"])[day.weekday()]
    yearly = DECEMBER_PEAK if day.month == 12 else 1.0
    if category == "sunscreen":
        summer = math.cos(2 * math.pi * (day.timetuple().tm_yday - 196) / 365.25)
        yearly *= 1 + (SUMMER_SUNSCREEN - 1) * max(summer, 0.0) ** 2
    return weekly * yearly


@cache
def _cumulative(start: datetime, category: str, channel: str) -> tuple[float, ...]:
    """The seasonal intensity's cumulative share at each day's end, over the year from
    `start`."""
    running, out = 0.0, []
    for n in range(365):
        running += seasonal_intensity(start + timedelta(days=n), category, channel)
        out.append(running)
    return tuple(x / running for x in out)


def seasonal_instant(start: datetime, fraction: float, category: str, channel: str) -> datetime:
    """The instant a uniform `fraction` of the year becomes under the seasonal intensity
    (inverse CDF, linear within a day)."""
    cumulative = _cumulative(start, category, channel)
    day = min(bisect.bisect_right(cumulative, fraction), 364)
    before = cumulative[day - 1] if day else 0.0
    within = (fraction - before) / (cumulative[day] - before) if cumulative[day] > before else 0.0
    return start + timedelta(days=day + min(max(within, 0.0), 1.0))


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
        fraction = rng.uniform(0, YEAR_SECONDS) / YEAR_SECONDS
        category = rng.choices(categories, shares)[0]
        owned = kept.get(category, [])
        if owned and category != "tools" and rng.random() < 0.35:
            product: DemoProduct | None = rng.choice(owned)
        else:
            product = _choose(rng, customer, by_category.get(category, []), bought)
        if product is None:
            continue
        happenings += _purchase(rng, customer, product, start, fraction, kept)
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
    start: datetime,
    fraction: float,
    kept: dict[str, list[DemoProduct]],
) -> list[Happening]:
    channel = rng.choices(CHANNELS, CHANNEL_SHARES)[0]
    at = seasonal_instant(start, fraction, product.facts.category, channel)
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
