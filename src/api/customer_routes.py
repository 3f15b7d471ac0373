"""Customer routes: commands (path, body model, builder) and queries, like the stock routes.

Every route that writes or returns personal data records the access in the access log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api import customer_models as m
from api.access import principal_of
from api.access_logging import log_access
from api.auth import Principal
from api.callers import caller, idempotency_key
from api.command_responses import command_response
from api.json_answers import json_answer
from api.problems import ApiProblem
from api.query_parameters import choice
from api.query_route import QueryRoute
from api.request_body import read_json, validate
from api.request_state import runtime_of, uuid_path_parameter
from api.tracing import traced
from domain import customer_commands as c
from domain.customer import Customer
from domain.trace import Trace
from privacy.contacts import DEFAULT_REGION, normalise_email, normalise_phone
from privacy.pseudonyms import Pseudonyms, legacy_identity_id
from service_layer import customer_views as views
from service_layer import feedback_views, loyalty_statement
from service_layer.loyalty_follower import erase_loyalty
from service_layer.order_history import every_order_of
from service_layer.read_side import ReadSide
from storage.command_answers import scoped_key


@dataclass(frozen=True)
class Context:
    trace: Trace
    pseudonyms: Pseudonyms
    caller: Principal


VERIFIERS = ("store-staff", "admin")
Build = Callable[[Any, UUID | None, Context], c.CustomerCommand]


@dataclass(frozen=True)
class CustomerRoute:
    path: str
    model: type[BaseModel]
    build: Build
    summary: str
    personal: bool = True  # the body carries personal data: its access is logged
    creates: bool = False
    tag: str = "customers"


def _contact(
    body: m.ContactIn, pseudonyms: Pseudonyms
) -> tuple[dict[str, Any], tuple[c.IdentityClaim, ...]]:
    given = body.model_dump(exclude_none=True, exclude={"phone_region", "verification"})
    found = []
    if body.email is not None:
        found.append(("email", normalise_email(body.email)))
    if body.phone is not None:
        phone = normalise_phone(body.phone, body.phone_region or DEFAULT_REGION)
        given["phone"] = phone
        found.append(("phone", phone))
    claims = tuple(
        c.IdentityClaim(kind, pseudonyms.identity_id(kind, key), legacy_identity_id(kind, key))
        for kind, key in found
    )
    return given, claims


def _register(body: m.RegisterCustomerIn, _: UUID | None, ctx: Context) -> c.CustomerCommand:
    contact, claims = _contact(body, ctx.pseudonyms)
    return c.RegisterCustomer(uuid4(), contact, claims, ctx.trace, _matching(body, ctx.caller))


def _matching(body: m.RegisterCustomerIn, caller: Principal) -> c.Matching:
    """Only staff (and admins) vouch for a person; an admin reads any customer anyway."""
    if body.verification is not None and caller.role not in VERIFIERS:
        raise ApiProblem(
            403,
            "forbidden",
            "Forbidden",
            f"a {caller.role} token may not vouch for a person (verification); only store "
            "staff or an admin who checked them may; the customer's own token can add "
            "contacts at /customers/{customer_id}/contact-details",
        )
    return c.Matching(sees_customer=caller.role == "admin", verification=body.verification)


def _change_contact(body: m.ContactIn, cid: UUID | None, ctx: Context) -> c.CustomerCommand:
    contact, claims = _contact(body, ctx.pseudonyms)
    return c.ChangeContactDetails(_id(cid), contact, claims, ctx.trace)


def _id(customer_id: UUID | None) -> UUID:
    assert customer_id is not None  # every route but registration and merge names one
    return customer_id


CUSTOMER_COMMAND_ROUTES = [
    CustomerRoute(
        "/customers",
        m.RegisterCustomerIn,
        _register,
        "Register a customer (or find them by email/phone)",
        creates=True,
    ),
    CustomerRoute(
        "/customers/{customer_id}/contact-details",
        m.ContactIn,
        _change_contact,
        "Change contact details",
    ),
    CustomerRoute(
        "/customers/{customer_id}/skin-profile",
        m.SkinProfileIn,
        lambda b, cid, x: c.ChangeSkinProfile(_id(cid), b.model_dump(), x.trace),
        "Change the skin profile (type, concerns, allergies as INCI names)",
    ),
    CustomerRoute(
        "/customers/{customer_id}/preferences",
        m.PreferencesIn,
        lambda b, cid, x: c.ChangePreferences(_id(cid), b.model_dump(exclude_none=True), x.trace),
        "Change preferences (fragrance-free, vegan, cruelty-free)",
    ),
    CustomerRoute(
        "/customers/{customer_id}/loyalty-tier",
        m.LoyaltyTierIn,
        lambda b, cid, x: c.ChangeLoyaltyTier(_id(cid), b.tier, x.trace),
        "Change the loyalty tier",
        personal=False,
    ),
    CustomerRoute(
        "/customers/{customer_id}/loyalty/redeem",
        m.RedeemPointsIn,
        lambda b, cid, x: c.RedeemPoints(_id(cid), b.points, b.reference, x.trace),
        "Redeem loyalty points (the ones that expire first go first); never beyond the balance",
        personal=False,
    ),
    CustomerRoute(
        "/customers/{customer_id}/wishlist",
        m.WishlistIn,
        lambda b, cid, x: c.AddToWishlist(_id(cid), b.sku, x.trace),
        "Add a SKU to the wishlist",
        personal=False,
    ),
    CustomerRoute(
        "/customers/{customer_id}/wishlist/remove",
        m.WishlistIn,
        lambda b, cid, x: c.RemoveFromWishlist(_id(cid), b.sku, x.trace),
        "Remove a SKU from the wishlist",
        personal=False,
    ),
    CustomerRoute(
        "/customers/{customer_id}/feedback",
        m.FeedbackIn,
        lambda b, cid, x: c.GiveFeedback(_id(cid), b.sku, b.rating, b.comment, x.trace),
        "Rate a product, with an optional comment",
    ),
    CustomerRoute(
        "/customers/{customer_id}/consents/grant",
        m.ConsentGrantIn,
        lambda b, cid, x: c.GrantConsent(_id(cid), b.purpose, b.text_version, x.trace),
        "Grant consent for a purpose (with the version of the text shown)",
        personal=False,
    ),
    CustomerRoute(
        "/customers/{customer_id}/consents/withdraw",
        m.ConsentWithdrawIn,
        lambda b, cid, x: c.WithdrawConsent(_id(cid), b.purpose, x.trace),
        "Withdraw consent for a purpose; it applies from the next request",
        personal=False,
    ),
    CustomerRoute(
        "/customers/merges",
        m.MergeIn,
        lambda b, _, x: c.MergeCustomers(b.source_id, b.target_id, x.trace),
        "Merge two customers (a person confirms a proposal); the old id redirects",
    ),
    CustomerRoute(
        "/customers/{customer_id}/forget",
        m.ForgetIn,
        lambda b, cid, x: c.ForgetCustomer(_id(cid), x.trace),
        "Forget the customer: their key is destroyed, their personal data erased everywhere",
    ),
]


def customer_command_endpoint(route: CustomerRoute) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        runtime = runtime_of(request)
        key = idempotency_key(request)
        channel, subject = caller(request)
        customer_id = _customer_id(request) if "customer_id" in request.path_params else None
        data, _ = await read_json(request, runtime.settings.max_body_bytes)
        body = validate(route.model, data)
        now = datetime.now(tz=UTC)
        trace = traced(Trace(channel, subject, now, key, None, getattr(body, "reason", None)))
        context = Context(trace, runtime.pseudonyms, principal_of(request))
        command = route.build(body, customer_id, context)
        print_ = runtime.pseudonyms.fingerprint(request.method, request.scope["path"], data)
        scoped = scoped_key(subject, channel, key)
        outcome = await run_in_threadpool(runtime.customers.execute, command, scoped, print_)
        if isinstance(command, c.ForgetCustomer):  # the loyalty rows name the customer
            forgotten = list(outcome.body.get("forgotten", []))
            await run_in_threadpool(erase_loyalty, runtime.settings, runtime.loyalty, forgotten)
        if route.personal:
            touched = UUID(outcome.body["customer_id"])
            await log_access(request, touched, f"write {route.path}", trace.reason)
        return command_response(outcome, route.creates)

    endpoint.__name__ = "customer_" + route.path.strip("/").replace("/", "_").replace("{", "")
    return endpoint


# --- queries -----------------------------------------------------------------------------


async def customer_profile(request: Request) -> Response:
    customer, with_pii = await _load(request, "read profile")
    return json_answer(views.profile(customer, with_pii=with_pii))


async def customer_loyalty(request: Request) -> Response:
    """Balance, tier, lots and their last days, and the points' history, from the ledger."""
    customer, _ = await _load(request, "read loyalty")
    desk = runtime_of(request).customers
    events = await run_in_threadpool(views.history, desk, customer, with_pii=False)
    return json_answer(loyalty_statement.loyalty(customer, events))


async def customer_history(request: Request) -> Response:
    customer, with_pii = await _load(request, "read history")
    desk = runtime_of(request).customers
    events = await run_in_threadpool(views.history, desk, customer, with_pii=with_pii)
    return json_answer({"customer_id": str(customer.id), "events": events})


async def customer_export(request: Request) -> Response:
    """Everything held about the customer (a data-subject access request)."""
    customer, _ = await _load(request, "export")
    runtime = runtime_of(request)
    events = await run_in_threadpool(views.history, runtime.customers, customer, with_pii=True)
    accesses = await run_in_threadpool(runtime.access_log.entries_for, customer.id)
    people = [customer, *await run_in_threadpool(runtime.customers.merged_from, customer)]
    return json_answer(
        {
            "customer_id": str(customer.id),
            "exported_at": datetime.now(tz=UTC).isoformat(),
            "profile": views.profile(customer, with_pii=True),
            "loyalty": loyalty_statement.loyalty(customer, events),
            "consent_history": views.consent_history(events),
            "events": events,
            "purchases_and_returns": await run_in_threadpool(
                views.purchases_and_returns, runtime.purchases, customer
            ),
            "orders": await run_in_threadpool(_orders_of, runtime.read_side, customer),
            "recommendations_shown": [],
            "survey_answers": feedback_views.survey_answers(people, with_answers=True),
            "support_contacts": feedback_views.support_contacts(people, with_notes=True),
            "accesses": [
                {"at": a.at, "principal": a.principal, "role": a.role, "action": a.action}
                for a in accesses
            ],
        }
    )


def _orders_of(side: ReadSide | None, customer: Customer) -> dict[str, Any] | None:
    """The customer's orders from the order read model (None when this process has none)."""
    if side is None or side.sinks.hot_views is None:
        return None
    if customer.forgotten:  # no history is kept as theirs once they are forgotten
        return every_order_of(side, side.sinks.hot_views, [])
    mine = [str(customer.id), *(str(source) for source in customer.absorbed)]
    return every_order_of(side, side.sinks.hot_views, mine)


async def recommender_input(request: Request) -> Response:
    customer, _ = await _load(request, "read for personalisation")
    return json_answer(views.recommender_input(customer))


async def marketing_contact(request: Request) -> Response:
    medium = MEDIUM.value(request)
    customer, _ = await _load(request, f"read for marketing by {medium}")
    return json_answer(views.marketing_contact(customer, medium))


async def match_proposals(request: Request) -> Response:
    customer, _ = await _load(request, "match proposals")
    desk = runtime_of(request).customers
    proposals = await run_in_threadpool(views.match_proposals, desk, customer)
    return json_answer({"customer_id": str(customer.id), "proposals": proposals})


MEDIUM = choice("medium", ("email", "sms"), "email", description="the campaign's medium")

CUSTOMER_QUERIES = [
    QueryRoute("/customers/{customer_id}", customer_profile, "A customer's profile", "customers"),
    QueryRoute(
        "/customers/{customer_id}/loyalty",
        customer_loyalty,
        "Loyalty points: balance, tier, lots with their last day, history (from the ledger)",
        "customers",
    ),
    QueryRoute(
        "/customers/{customer_id}/history",
        customer_history,
        "A customer's events, for audit",
        "customers",
    ),
    QueryRoute(
        "/customers/{customer_id}/export",
        customer_export,
        "Everything held about a customer",
        "customers",
    ),
    QueryRoute(
        "/customers/{customer_id}/recommender-input",
        recommender_input,
        "Recommender input; needs the personalisation consent",
        "customers",
    ),
    QueryRoute(
        "/customers/{customer_id}/marketing-contact",
        marketing_contact,
        "A campaign address (?medium=email|sms); needs the marketing consent",
        "customers",
        (MEDIUM,),
    ),
    QueryRoute(
        "/customers/{customer_id}/match-proposals",
        match_proposals,
        "Customers who may be the same person, scored; never merged by this",
        "customers",
    ),
]


async def _load(request: Request, action: str) -> tuple[Any, bool]:
    customer_id = _customer_id(request)
    customer = await run_in_threadpool(runtime_of(request).customers.customer, customer_id)
    with_pii = principal_of(request).may_read_pii
    if with_pii:
        await log_access(request, customer.id, action, request.headers.get("x-access-reason"))
    return customer, with_pii


def _customer_id(request: Request) -> UUID:
    return uuid_path_parameter(request, "customer_id")
