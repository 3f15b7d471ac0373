"""Seeds a synthetic business through the real command API (routes, validation, tokens,
idempotency keys): locations, products with INCI lists, stock, customers with skin profiles and
consents, then a year of purchases, returns and ratings in time order."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from demo.business import STORES, WAREHOUSE, Business, DemoCustomer, DemoProduct, Happening
from domain.promotions import Promotion
from recommender.signals import PURCHASE, RATING, RETURN

BATCH = "DEMO-B1"
EXPIRY = "2028-12-31"
CONCURRENCY = 24
Progress = Callable[[str, int, int], None]


class SeedingError(RuntimeError):
    """The API refused a command the demo needed."""


@dataclass
class Seeder:
    client: httpx.AsyncClient
    token: str
    progress: Progress = field(default=lambda step, done, total: None)
    customer_ids: dict[str, str] = field(default_factory=dict)

    async def post(self, path: str, body: dict[str, Any], channel: str = "backoffice") -> Any:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": str(uuid.uuid4()),
            "X-Channel": channel,
        }
        for attempt in range(5):
            response = await self.client.post(path, json=body, headers=headers)
            if response.status_code != 503:
                break
            await asyncio.sleep(0.2 * (attempt + 1))
        if response.status_code not in (200, 201):
            raise SeedingError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    async def run_all(self, step: str, jobs: Sequence[Callable[[], Awaitable[Any]]]) -> None:
        done = 0
        queue = list(reversed(jobs))

        async def worker() -> None:
            nonlocal done
            while queue:
                await queue.pop()()
                done += 1
                if done % 50 == 0 or done == len(jobs):
                    self.progress(step, done, len(jobs))

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def seed(seeder: Seeder, business: Business, until: datetime | None = None) -> dict[str, int]:
    """The business: places, catalog, promotions, stock for the whole year, customers, then its
    history; with `until`, its history before then only (stock is received for all of it, so
    `send_history` can add the rest later: a log that grows)."""
    places = [*STORES, WAREHOUSE]
    await seeder.run_all("locations", [_location(seeder, *place) for place in places])
    products = list(business.products.values())
    await seeder.run_all("products", [_product(seeder, p) for p in products])
    promoted = [(p, promotion) for p in products for promotion in p.facts.promotions]
    await seeder.run_all("promotions", [_promotion(seeder, business, *pair) for pair in promoted])
    stock = _stock_needed(business)
    await seeder.run_all("stock", [_receive(seeder, business, *k, n) for k, n in stock.items()])
    people = list(business.customers.values())
    await seeder.run_all("customers", [_customer(seeder, c) for c in people])
    happenings = [h for h in business.happenings if until is None or h.at < until]
    await send_history(seeder, happenings)
    return {
        "locations": len(places),
        "products": len(products),
        "promotions": len(promoted),
        "stock_lines": len(stock),
        "customers": len(people),
        "happenings": len(happenings),
    }


async def send_history(seeder: Seeder, happenings: Sequence[Happening]) -> None:
    """Purchases, returns and ratings through the API, in the order given."""
    await seeder.run_all("history", [_happening(seeder, h) for h in happenings])


def _stock_needed(business: Business) -> Counter[tuple[str, str]]:
    """Enough for every sale, plus a little; about one line in twenty sells out by year end."""
    sold: Counter[tuple[str, str]] = Counter()
    for h in business.happenings:
        if h.kind == PURCHASE:
            sold[(h.sku, h.location)] += int(h.value)
    for n, key in enumerate(sorted(sold)):
        sold[key] += 0 if n % 20 == 7 else 6
    for product in business.products.values():
        for sku in product.facts.skus:
            sold[(sku, WAREHOUSE[0])] += 0 if sold[(sku, WAREHOUSE[0])] else 10
    return sold


def _location(seeder: Seeder, code: str, name: str, lat: float, lon: float) -> Any:
    kind = "fulfilment_centre" if code == WAREHOUSE[0] else "store"
    body = {"code": code, "name": name, "kind": kind, "latitude": lat, "longitude": lon}
    return lambda: seeder.post("/locations", body)


def _product(seeder: Seeder, product: DemoProduct) -> Any:
    p = product.facts
    variants = [
        {"sku": sku, "size": sku.rsplit("-", 1)[-1], "price": str(price), "currency": "EUR"}
        for sku, price in zip(p.skus, product.prices, strict=True)
    ]
    body = {
        "product_code": p.product_code,
        "name": p.name,
        "brand": product.brand,
        "category": p.category,
        "inci": list(p.inci),
        "skin_types": list(p.skin_types),
        "variants": variants,
    }
    return lambda: seeder.post("/products", body)


def _promotion(
    seeder: Seeder, business: Business, product: DemoProduct, promotion: Promotion
) -> Any:
    """Scheduled (as an admin may backdate it) before the demo year begins."""
    body = {
        "promotion_id": promotion.promotion_id,
        "discount_percent": promotion.discount_percent,
        "starts": promotion.starts.isoformat(),
        "ends": promotion.ends.isoformat(),
        "channels": list(promotion.channels),
        "occurred_at": (business.start - timedelta(days=3)).isoformat(),
    }
    path = f"/products/{product.facts.product_code}/promotions"
    return lambda: seeder.post(path, body)


def _receive(seeder: Seeder, business: Business, sku: str, location: str, quantity: int) -> Any:
    body = {
        "sku": sku,
        "location": location,
        "batch": BATCH,
        "expiry": EXPIRY,
        "quantity": quantity,
        "occurred_at": (business.start - timedelta(days=2)).isoformat(),
    }
    return lambda: seeder.post("/stock/receipts", body)


def _customer(seeder: Seeder, customer: DemoCustomer) -> Any:
    facts = customer.facts

    async def register() -> None:
        number = facts.customer_id.rsplit("-", 1)[-1].lstrip("0") or "0"
        body = {"name": f"Demo Customer {number}", "email": f"demo.{number}@example.org"}
        found = await seeder.post("/customers", body, "web")
        cid = str(found["customer_id"])
        seeder.customer_ids[facts.customer_id] = cid
        profile = {
            "skin_type": facts.skin_type,
            "concerns": list(facts.concerns),
            "allergies": list(facts.allergies),
        }
        await seeder.post(f"/customers/{cid}/skin-profile", profile, "web")
        if facts.preferences:
            await seeder.post(
                f"/customers/{cid}/preferences", dict.fromkeys(facts.preferences, True), "web"
            )
        if facts.personalisation:
            grant = {"purpose": "personalisation", "text_version": "2025-10"}
            await seeder.post(f"/customers/{cid}/consents/grant", grant, "web")

    return register


def _happening(seeder: Seeder, h: Happening) -> Any:
    async def send() -> None:
        body: dict[str, Any]
        cid = seeder.customer_ids[h.customer_id]
        at = h.at.isoformat()
        if h.kind == PURCHASE:
            line: dict[str, Any] = {"sku": h.sku, "location": h.location, "quantity": int(h.value)}
            body = {
                "customer_id": cid,
                "lines": [line],
                "occurred_at": at,
                "source_ref": f"demo-order-{uuid.uuid4().hex[:12]}",
            }
            await seeder.post("/sales", body, h.channel)
        elif h.kind == RETURN:
            body = {
                "customer_id": cid,
                "sku": h.sku,
                "location": h.location,
                "batch": BATCH,
                "quantity": int(h.value),
                "restock": False,
                "occurred_at": at,
                "reason": "did-not-suit",
            }
            await seeder.post("/returns", body, h.channel)
        elif h.kind == RATING:
            body = {"sku": h.sku, "rating": int(h.value)}
            await seeder.post(f"/customers/{cid}/feedback", body, h.channel)

    return send
