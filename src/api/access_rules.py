"""The access rule of every route, read top to bottom. The access tests walk the app's routes
and fail for any route missing here."""

from __future__ import annotations

from api.access import PUBLIC, SIGNED, Access, allow

ADMIN = ("admin",)
STOCK_OPS = ("store-staff", "admin")
SELLING = ("channel", "store-staff", "admin")
READERS = ("channel", "store-staff", "auditor", "analyst", "admin")
SHOPPERS = (*READERS, "customer")
OPERATORS = ("operator", "admin")

INVENTORY_RULES: dict[tuple[str, str], Access] = {
    # catalog and places: the back office only
    ("POST", "/products"): allow(*ADMIN),
    ("POST", "/products/{product_code}/changes"): allow(*ADMIN),
    ("POST", "/products/{product_code}/variants"): allow(*ADMIN),
    ("POST", "/products/{product_code}/discontinue"): allow(*ADMIN),
    # promotions: the back office (no merchandising role exists; admins schedule them)
    ("POST", "/products/{product_code}/promotions"): allow(*ADMIN),
    ("DELETE", "/products/{product_code}/promotions/{promotion_id}"): allow(*ADMIN),
    ("POST", "/skus/{sku}/price"): allow(*ADMIN),
    ("POST", "/locations"): allow(*ADMIN),
    ("POST", "/batches/recall"): allow(*ADMIN),
    # stock handling: staff at their own location (checked on the body), the back office
    ("POST", "/stock/receipts"): allow(*STOCK_OPS),
    ("POST", "/stock/expected-shipments"): allow(*STOCK_OPS),
    ("POST", "/adjustments"): allow(*STOCK_OPS),
    ("POST", "/transfers"): allow(*STOCK_OPS),
    ("POST", "/batches/quarantine"): allow(*STOCK_OPS),
    ("POST", "/batches/lift-quarantine"): allow(*STOCK_OPS),
    ("POST", "/transfers/dispatches"): allow(*STOCK_OPS),
    ("POST", "/transfers/{transfer_id}/receipt"): allow(*STOCK_OPS),
    ("POST", "/stock/expected-shipments/delay"): allow(*STOCK_OPS),
    ("POST", "/stock/expected-shipments/cancel"): allow(*STOCK_OPS),
    ("POST", "/skus/{sku}/preorders"): allow(*ADMIN),
    # selling: channels for their own channel, staff at their own location
    ("POST", "/reservations"): allow(*SELLING),
    ("POST", "/reservations/{reservation_id}/confirm"): allow(*SELLING),
    ("POST", "/reservations/{reservation_id}/release"): allow(*SELLING),
    ("POST", "/reservations/{reservation_id}/extend"): allow(*SELLING),
    ("POST", "/reservations/{reservation_id}/order"): allow(*SELLING),
    ("POST", "/preorders"): allow(*SELLING),
    ("POST", "/preorders/{preorder_id}/confirm"): allow(*SELLING),
    ("POST", "/preorders/{preorder_id}/release"): allow(*SELLING),
    ("POST", "/sales"): allow(*SELLING),
    ("POST", "/returns"): allow(*SELLING),
    # reads (store staff: another location's figures never, its totals yes; api/access.py)
    ("GET", "/skus/{sku}/stock"): allow(*SHOPPERS),
    ("GET", "/skus/{sku}/stock/{location}"): allow(*SHOPPERS, own_location="location"),
    ("GET", "/reservations/{reservation_id}"): allow(*SELLING, "auditor"),
    ("GET", "/preorders/{preorder_id}"): allow(*SELLING, "auditor"),
    ("GET", "/products/{product_code}"): allow(*SHOPPERS),
    # similar products: a customer asks as itself, the others may name a customer (checked
    # by the endpoint, api/similar_routes.py)
    ("GET", "/products/{product_code}/similar"): allow(
        "channel", "store-staff", "customer", "admin"
    ),
    ("GET", "/locations"): allow(*SHOPPERS),
    # operations: liveness and the API's description are public; the figures (log head, queue,
    # open reservations, counters) are for monitoring (operator tokens) and the back office
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/live"): PUBLIC,  # probes carry no token; the answers name no secret
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/health/detail"): allow(*OPERATORS),
    ("GET", "/metrics"): allow(*OPERATORS),
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,  # the API's page and its files (api/docs_routes.py)
    ("GET", "/docs/{asset}"): PUBLIC,
}

PERSONAL_WRITERS = ("channel", "store-staff", "customer", "admin")
OWN = {"own_customer": True}

CUSTOMER_RULES: dict[tuple[str, str], Access] = {
    ("POST", "/customers"): allow("channel", "store-staff", "admin"),
    ("POST", "/customers/{customer_id}/contact-details"): allow(*PERSONAL_WRITERS, **OWN),
    ("POST", "/customers/{customer_id}/skin-profile"): allow(*PERSONAL_WRITERS, **OWN),
    ("POST", "/customers/{customer_id}/preferences"): allow(*PERSONAL_WRITERS, **OWN),
    ("POST", "/customers/{customer_id}/wishlist"): allow(*PERSONAL_WRITERS, **OWN),
    ("POST", "/customers/{customer_id}/wishlist/remove"): allow(*PERSONAL_WRITERS, **OWN),
    ("POST", "/customers/{customer_id}/feedback"): allow(*PERSONAL_WRITERS, **OWN),
    ("POST", "/customers/{customer_id}/consents/grant"): allow(*PERSONAL_WRITERS, **OWN),
    ("POST", "/customers/{customer_id}/consents/withdraw"): allow(*PERSONAL_WRITERS, **OWN),
    ("POST", "/customers/{customer_id}/loyalty-tier"): allow(*ADMIN),
    ("POST", "/customers/{customer_id}/loyalty/redeem"): allow(*PERSONAL_WRITERS, **OWN),
    ("GET", "/customers/{customer_id}/loyalty"): allow(*PERSONAL_WRITERS, "auditor", **OWN),
    ("POST", "/customers/merges"): allow(*ADMIN),
    ("POST", "/customers/{customer_id}/forget"): allow("customer", "admin", **OWN),
    # an auditor without pii:read sees profile and history with personal fields redacted
    ("GET", "/customers/{customer_id}"): allow(*PERSONAL_WRITERS, "auditor", **OWN),
    ("GET", "/customers/{customer_id}/history"): allow("auditor", "admin"),
    ("GET", "/customers/{customer_id}/export"): allow(
        "customer", "auditor", "admin", needs_pii=True, **OWN
    ),
    ("GET", "/customers/{customer_id}/recommender-input"): allow(
        "channel", "customer", "admin", **OWN
    ),
    ("GET", "/customers/{customer_id}/recommendations"): allow(
        "channel", "store-staff", "customer", "admin", **OWN
    ),
    ("GET", "/customers/{customer_id}/orders"): allow(
        "channel", "store-staff", "customer", "auditor", "admin", **OWN
    ),
    ("GET", "/customers/{customer_id}/marketing-contact"): allow(*ADMIN),
    ("GET", "/customers/{customer_id}/match-proposals"): allow(*ADMIN),
}

BACK_OFFICE = ("backoffice",)

FEEDBACK_RULES: dict[tuple[str, str], Access] = {
    # a survey tool's answers: authenticated by the webhook's signature (api/survey_routes.py)
    ("POST", "/feedback/surveys"): SIGNED,
    # the support log: the back office (admins, the backoffice channel's tools) and store
    # staff for contacts in their store; notes are read by admins and pii:read auditors only
    ("POST", "/customers/{customer_id}/support-contacts"): allow(
        "channel", "store-staff", "admin", channels=BACK_OFFICE
    ),
    ("GET", "/customers/{customer_id}/support-contacts"): allow(
        "channel", "store-staff", "auditor", "admin", channels=BACK_OFFICE
    ),
}

ORDER_READERS = ("channel", "store-staff", "auditor", "admin")

ORDER_RULES: dict[tuple[str, str], Access] = {
    # a channel acts on its own orders, store staff on fulfilment orders at their location
    # (both decided on the order, in the writer), the back office on all; auditors read
    ("POST", "/orders"): allow(*SELLING),
    ("POST", "/orders/quote"): allow(*SELLING),
    ("POST", "/orders/{order_id}/fulfilments/{fulfilment_id}/steps"): allow(*SELLING),
    ("POST", "/orders/{order_id}/cancel"): allow(*SELLING),
    ("POST", "/orders/{order_id}/lines/cancel"): allow(*SELLING),
    ("POST", "/orders/{order_id}/lines/edit"): allow(*SELLING),
    ("POST", "/orders/{order_id}/payment"): allow("channel", "admin"),
    ("POST", "/orders/{order_id}/returns"): allow(*SELLING),
    ("POST", "/orders/{order_id}/returns/{rma_id}/receive"): allow(*SELLING),
    ("POST", "/orders/{order_id}/returns/{rma_id}/refund"): allow("channel", "admin"),
    # rules and kits: the back office
    ("POST", "/channels/{channel}/rules"): allow(*ADMIN),
    ("POST", "/kits"): allow(*ADMIN),
    ("GET", "/orders"): allow(*ORDER_READERS),
    ("GET", "/orders/{order_id}"): allow(*ORDER_READERS),
    ("GET", "/orders/{order_id}/fulfilments/{fulfilment_id}/pick-list"): allow(*ORDER_READERS),
    ("GET", "/channels/{channel}/availability/{sku}"): allow(*READERS),
    ("GET", "/channels/{channel}/availability"): allow(*READERS),
}

PLANNERS = ("store-staff", "analyst", "auditor", "admin")

REPLENISHMENT_RULES: dict[tuple[str, str], Access] = {
    # policies: the back office sets them; planners read them (staff their own location's)
    ("PUT", "/replenishment/policies/{location}/{sku}"): allow(*ADMIN),
    ("GET", "/replenishment/policies/{location}/{sku}"): allow(*PLANNERS, own_location="location"),
    # suggestions: store staff of the location (or of a transfer's source; decided on the
    # suggestion, in the writer) and the back office accept them
    ("POST", "/replenishment/suggestions/{suggestion_id}/accept"): allow(*STOCK_OPS),
    ("GET", "/replenishment/suggestions"): allow(*PLANNERS, own_location="location"),
}

ANALYSTS = ("analyst", "admin")

READ_MODEL_RULES: dict[tuple[str, str], Access] = {
    # hot views: whoever sells or shops (store staff: per location only their own, as in the
    # answers' `locations`, api/access.py); analytics: analysts (read models only) and admins
    ("GET", "/availability"): allow(*SHOPPERS),
    ("GET", "/availability/{sku}"): allow(*SHOPPERS, own_location="location"),
    ("GET", "/availability/{sku}/nearest"): allow(*SHOPPERS),
    ("GET", "/analytics/daily-sales"): allow(*ANALYSTS),
    ("GET", "/analytics/turnover"): allow(*ANALYSTS),
    ("GET", "/analytics/expiring-batches"): allow(*ANALYSTS),
    ("GET", "/analytics/reservation-conversion"): allow(*ANALYSTS),
    ("GET", "/analytics/sell-through"): allow(*ANALYSTS),
    ("GET", "/analytics/orders"): allow(*ANALYSTS),
    ("GET", "/forecasts/{sku}"): allow(*ANALYSTS),
}

SEGMENT_RULES: dict[tuple[str, str], Access] = {
    # segments: analysts read aggregates, pseudonymous ids and audience counts; defining an
    # audience and exporting its members (to contact them) is the back office's
    ("GET", "/segments/rfm"): allow(*ANALYSTS),
    ("GET", "/segments/cohorts"): allow(*ANALYSTS),
    ("GET", "/segments/churn"): allow(*ANALYSTS),
    ("GET", "/segments/audiences"): allow(*ANALYSTS),
    ("GET", "/segments/audiences/{name}"): allow(*ANALYSTS),
    ("POST", "/segments/audiences"): allow(*ADMIN),
    ("GET", "/segments/audiences/{name}/members"): allow(*ADMIN),
}

EXPERIMENT_RULES: dict[tuple[str, str], Access] = {
    # experiments: the back office defines and stops them; analysts read them and their
    # figures (aggregates per variant, no customer)
    ("POST", "/experiments"): allow(*ADMIN),
    ("POST", "/experiments/{experiment_id}/stop"): allow(*ADMIN),
    ("GET", "/experiments"): allow(*ANALYSTS),
    ("GET", "/experiments/{experiment_id}"): allow(*ANALYSTS),
}

AUDITORS = ("auditor", "admin")

AUDIT_RULES: dict[tuple[str, str], Access] = {
    # the log itself: history, time travel, recalls, the hash chain, exports
    ("GET", "/audit/{kind}/{key}/history"): allow(*AUDITORS),
    ("GET", "/audit/{kind}/{key}/as-of"): allow(*AUDITORS),
    ("GET", "/audit/batches/{sku}/{batch}/trace"): allow(*AUDITORS),
    ("GET", "/audit/chain"): allow(*AUDITORS),
    ("GET", "/audit/chain/verification"): allow(*AUDITORS),
    ("GET", "/audit/export"): allow(*AUDITORS),
}

WEBHOOK_RULES: dict[tuple[str, str], Access] = {
    # webhooks: the back office; marketplaces import as the marketplace channel; recalls are
    # read by the back office and auditors
    ("POST", "/webhooks/subscriptions"): allow(*ADMIN),
    ("POST", "/webhooks/subscriptions/{subscription_id}/remove"): allow(*ADMIN),
    ("POST", "/webhooks/dead-letters/replay"): allow(*ADMIN),
    ("GET", "/webhooks/subscriptions"): allow(*ADMIN),
    ("GET", "/webhooks/dead-letters"): allow(*OPERATORS),
    ("POST", "/marketplaces/{name}/orders"): allow("channel", "admin"),
    ("GET", "/recalls/{sku}/{batch}"): allow(*AUDITORS),
}

TILL_RULES: dict[tuple[str, str], Access] = {
    # tills: registered by the back office; a journal is uploaded and its report read by the
    # store's staff (their own store's tills: checked on the till) or the back office
    ("POST", "/tills"): allow(*ADMIN),
    ("POST", "/locations/{location}/reconciliation-policy"): allow(*ADMIN),
    ("POST", "/tills/{till}/journals"): allow(*STOCK_OPS),
    ("GET", "/tills/{till}/journals/{journal_id}/report"): allow(*STOCK_OPS, "auditor"),
}

BEHAVIOUR_RULES: dict[tuple[str, str], Access] = {
    # behaviour: sent by channels, staff devices and the back office for anyone, by a customer
    # only about themselves (checked on each event's customer_id); violations: analysts
    ("POST", "/track"): allow("channel", "customer", "store-staff", "admin"),
    ("POST", "/track/batch"): allow("channel", "customer", "store-staff", "admin"),
    ("GET", "/tracking/violations"): allow(*ANALYSTS),
}

ACCESS_RULES: dict[tuple[str, str], Access] = {
    **WEBHOOK_RULES,
    **INVENTORY_RULES,
    **TILL_RULES,
    **ORDER_RULES,
    **REPLENISHMENT_RULES,
    **CUSTOMER_RULES,
    **FEEDBACK_RULES,
    **READ_MODEL_RULES,
    **SEGMENT_RULES,
    **EXPERIMENT_RULES,
    **AUDIT_RULES,
    **BEHAVIOUR_RULES,
}

# Reads that scan or replay much of a log, or query the facts: bounded per principal
# (api/concurrency_limit.py, GLOW_EXPENSIVE_READS_PER_PRINCIPAL and _TOTAL).
EXPENSIVE_READS: frozenset[tuple[str, str]] = frozenset(
    ("GET", path)
    for path in (
        "/customers/{customer_id}/export",
        "/customers/{customer_id}/history",
        "/customers/{customer_id}/match-proposals",
        "/audit/{kind}/{key}/history",
        "/audit/{kind}/{key}/as-of",
        "/audit/batches/{sku}/{batch}/trace",
        "/audit/chain/verification",
        "/audit/export",
        "/analytics/daily-sales",
        "/analytics/turnover",
        "/analytics/expiring-batches",
        "/analytics/reservation-conversion",
        "/analytics/sell-through",
        "/analytics/orders",
        "/forecasts/{sku}",
        "/segments/rfm",
        "/segments/cohorts",
        "/segments/churn",
        "/segments/audiences/{name}",
        "/segments/audiences/{name}/members",
        "/experiments/{experiment_id}",
        "/orders",
        "/recalls/{sku}/{batch}",
    )
) | {("POST", "/orders/quote")}  # a read: it loads every location's stock of its SKUs
