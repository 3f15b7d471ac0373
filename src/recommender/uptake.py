"""Whether recommendations sell: of the purchases made after a model was trained, how many
were of products that model put in the customer's top 10 (rules applied). A customer without
the personalisation consent counts against the shared popular list: the exclusions their
allergies or fragrance-free preference make on their screen stay out of this shared figure."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from recommender.baselines import popularity
from recommender.hybrid import HybridModel
from recommender.recommending import Recommender
from recommender.rules import RuleBook, Situation
from recommender.signals import PURCHASE, CustomerFacts, LogSignals


@dataclass(frozen=True)
class Uptake:
    model: str
    customers_buying: int
    purchases: int
    recommended_purchases: int

    @property
    def share(self) -> float:
        return self.recommended_purchases / self.purchases if self.purchases else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": round(self.share, 4)}


def uptake(model: HybridModel, version: str, signals: LogSignals) -> Uptake:
    before = [i for i in signals.interactions if i.at < model.trained_until]
    recommender = Recommender(RuleBook(signals.products), popularity(signals), model)
    later: dict[str, list[str]] = {}
    for i in signals.interactions:
        if (
            i.kind == PURCHASE
            and i.at >= model.trained_until
            and i.product_code in signals.products
        ):
            later.setdefault(i.customer_id, []).append(i.product_code)
    bought = {(i.customer_id, i.product_code) for i in before if i.kind == PURCHASE}
    purchases = hits = 0
    for customer_id, codes in later.items():
        facts = signals.customers.get(customer_id)
        if facts is None:
            continue
        if not facts.may_personalise:  # the shared list: their safety facts leave no trace here
            facts = CustomerFacts(customer_id)
        mine = frozenset(p for c, p in bought if c == customer_id)
        returned = frozenset(p for c, p in model.negative if c == customer_id)
        shown = {
            s.product_code
            for s in recommender.recommend(facts, Situation(mine, returned)).suggestions
        }
        purchases += len(codes)
        hits += sum(code in shown for code in codes)
    return Uptake(version, len(later), purchases, hits)
