"""What the customer routes answer: a profile, its history, a data-subject export, the inputs a
use of personal data gets once its consent is checked, and merge proposals.

Personal fields read "[erased]" once the customer is forgotten (their key is gone) and
"[redacted]" for a reader not allowed to see personal data (an auditor without pii:read).
Identity ids are pseudonyms of an email or phone, so they are masked alike: ids made before
keyed ids were a plain uuid5 of the contact, which anyone could compute for every number.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.customer import CONTACT_FIELDS, Customer
from domain.errors import ConsentRequiredError
from domain.ledger import InventoryLedger
from domain.trace import Trace
from privacy.matching import MatchFacts, is_proposed, match_score
from service_layer.customer_desk import CustomerDesk
from service_layer.purchase_index import PurchaseIndex

ERASED, REDACTED = "[erased]", "[redacted]"
PERSONAL_PARTS = ("contact", "skin_profile", "preferences")


def profile(customer: Customer, *, with_pii: bool) -> dict[str, Any]:
    personal: dict[str, Any] = {
        "contact": {name: customer.contact.get(name) for name in CONTACT_FIELDS},
        "skin_profile": customer.skin or None,
        "preferences": customer.preferences or None,
    }
    mask = ERASED if customer.forgotten else REDACTED
    if customer.forgotten or not with_pii:
        personal = dict.fromkeys(PERSONAL_PARTS, mask)
        personal["contact"] = dict.fromkeys(CONTACT_FIELDS, mask)
    feedback = [
        {**item, "comment": item["comment"] if with_pii else REDACTED} for item in customer.feedback
    ]
    return {
        "customer_id": str(customer.id),
        "status": "forgotten" if customer.forgotten else "active",
        "registered_on": customer.registered_on,
        **_jsonable(personal),
        "loyalty_tier": customer.loyalty_tier,
        "loyalty": {"points": customer.loyalty.balance, "tier": customer.loyalty_tier},
        "wishlist": customer.wishlist,
        "feedback": feedback,
        "consents": customer.consents,
        "merged_from": [str(source) for source in customer.absorbed],
        "version": customer.version,
    }


def history(desk: CustomerDesk, customer: Customer, *, with_pii: bool) -> list[dict[str, Any]]:
    mask = ERASED if customer.forgotten else None if with_pii else REDACTED
    return [event_record(event, with_pii=with_pii, mask=mask) for event in desk.history(customer)]


def event_record(event: Any, *, with_pii: bool, mask: str | None = None) -> dict[str, Any]:
    state = {k: v for k, v in vars(event).items() if k not in ("originator_version", "timestamp")}
    customer_id = state.pop("originator_id")
    trace = state.pop("trace", None)
    state.pop("originator_topic", None)
    if "personal" in state:
        state["personal"] = (
            ERASED if state["personal"] is None else state["personal"] if with_pii else REDACTED
        )
    if "identity_id" in state and mask is not None:
        state["identity_id"] = mask
    return {
        "customer_id": str(customer_id),
        "event": type(event).__qualname__,
        "version": event.originator_version,
        "recorded_at": event.timestamp.isoformat(),
        "trace": _jsonable(trace.as_dict()) if isinstance(trace, Trace) else None,
        "data": _jsonable(state),
    }


def consent_history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = ("Customer.ConsentGranted", "Customer.ConsentWithdrawn")
    return [
        {
            "purpose": e["data"]["purpose"],
            "granted": e["event"] == kinds[0],
            "text_version": e["data"].get("text_version"),
            "channel": (e["trace"] or {}).get("channel"),
            "at": (e["trace"] or {}).get("occurred_at"),
        }
        for e in events
        if e["event"] in kinds
    ]


def require_consent(customer: Customer, purpose: str) -> None:
    if customer.forgotten or not customer.has_consent(purpose):
        raise ConsentRequiredError(
            f"customer {customer.id} has not granted (or has withdrawn) consent for {purpose}",
            customer_id=str(customer.id),
            purpose=purpose,
        )


def recommender_input(customer: Customer) -> dict[str, Any]:
    """What personalised recommendations may use: only with `personalisation` granted."""
    require_consent(customer, "personalisation")
    return {
        "customer_id": str(customer.id),
        "skin_profile": _jsonable(customer.skin),
        "preferences": customer.preferences,
        "wishlist": customer.wishlist,
        "ratings": [{"sku": f["sku"], "rating": f["rating"]} for f in customer.feedback],
    }


def marketing_contact(customer: Customer, medium: str) -> dict[str, Any]:
    """The address a campaign may use: email needs `marketing_email`, sms `marketing_sms`."""
    purpose = {"email": "marketing_email", "sms": "marketing_sms"}[medium]
    require_consent(customer, purpose)
    field = "email" if medium == "email" else "phone"
    return {"customer_id": str(customer.id), "medium": medium, field: customer.contact.get(field)}


def match_proposals(desk: CustomerDesk, customer: Customer) -> list[dict[str, Any]]:
    """Other active customers who may be the same person, best first; nothing is merged."""
    mine = _facts(customer)
    proposals = []
    for other in desk.all_customers():
        if other.id == customer.id or other.forgotten or other.merged_into is not None:
            continue
        score = match_score(mine, _facts(other))
        if is_proposed(score):
            proposals.append({"customer_id": str(other.id), "score": score})
    return sorted(proposals, key=lambda p: -float(p["score"]))


def _facts(customer: Customer) -> MatchFacts:
    address = customer.contact.get("address") or {}
    return MatchFacts(
        customer.contact.get("name"), customer.contact.get("date_of_birth"), address.get("postcode")
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def purchases_and_returns(index: PurchaseIndex, customer: Customer) -> list[dict[str, Any]]:
    """Sales and returns recorded for the customer (or anyone merged into them): those whose
    command named the customer, and sales of their reservations, found through the index."""
    mine = [str(customer.id), *(str(source) for source in customer.absorbed)]
    events = index.stored(index.positions(mine))
    shelves = _shelves(index.ledger, {event.originator_id for event in events})
    return [
        _sale_line(
            "purchase" if type(event).__qualname__ == "Stock.Sold" else "return", event, shelves
        )
        for event in events
    ]


def _shelves(ledger: InventoryLedger, stock_ids: set[UUID]) -> dict[UUID, dict[str, str]]:
    """The SKU and location of each stock, from its first event."""
    shelves = {}
    for stock_id in stock_ids:
        for stored in ledger.recorder.select_events(stock_id, limit=1):
            opened: Any = ledger.mapper.to_domain_event(stored)
            shelves[stock_id] = {"sku": opened.sku, "location": opened.location}
    return shelves


def _sale_line(kind: str, event: Any, shelves: dict[UUID, dict[str, str]]) -> dict[str, Any]:
    line: dict[str, Any] = {
        "kind": kind,
        **shelves.get(event.originator_id, {}),
        "at": event.trace.occurred_at.isoformat(),
        "channel": event.trace.channel,
    }
    if kind == "purchase":
        line |= {"allocations": event.allocations, "unit_price": str(event.unit_price)}
        line |= {"currency": event.currency, "reservation_id": _jsonable(event.reservation_id)}
    else:
        line |= {"batch": event.batch, "quantity": event.quantity, "restocked": event.restocked}
    return line
