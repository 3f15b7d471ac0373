"""Named business-rule errors. The API maps each class to one status code in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every rule the ledger refuses a command for.

    `details` carries machine-readable facts (what was asked, what is available) that the API
    puts into its problem document.
    """

    code = "domain-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(DomainError):
    code = "not-found"


class UnknownSkuError(NotFoundError):
    code = "unknown-sku"


class UnknownLocationError(NotFoundError):
    code = "unknown-location"


class UnknownProductError(NotFoundError):
    code = "unknown-product"


class UnknownReservationError(NotFoundError):
    code = "unknown-reservation"


class UnknownBatchError(NotFoundError):
    code = "unknown-batch"


class UnknownPromotionError(NotFoundError):
    code = "unknown-promotion"


class ConflictError(DomainError):
    """The command is well formed but contradicts the ledger's current state."""

    code = "conflict"


class InsufficientStockError(ConflictError):
    code = "insufficient-stock"


class AlreadyExistsError(ConflictError):
    code = "already-exists"


class ReservationClosedError(ConflictError):
    code = "reservation-closed"


class ReservationExpiredError(ReservationClosedError):
    code = "reservation-expired"


class BatchNotSellableError(ConflictError):
    code = "batch-not-sellable"


class BatchMismatchError(ConflictError):
    code = "batch-mismatch"


class ProductDiscontinuedError(ConflictError):
    code = "product-discontinued"


class PromotionOverlapError(ConflictError):
    """A promotion of the same product on a shared channel already covers part of the period
    (or the promotion id is taken)."""

    code = "promotion-overlap"


class ConcurrencyConflictError(ConflictError):
    """Retries ran out: other writers kept changing the same aggregates."""

    code = "concurrency-conflict"


class IdempotencyKeyReusedError(ConflictError):
    """The same idempotency key arrived with a different command."""

    code = "idempotency-key-reused"


class InvalidCommandError(DomainError):
    """A value is well typed but breaks a rule (a zero quantity, a past expiry)."""

    code = "invalid-command"


class InvalidContactError(InvalidCommandError):
    """An email address, phone number or other contact detail that cannot be a real one."""

    code = "invalid-contact"


class UnknownCustomerError(NotFoundError):
    code = "unknown-customer"


class CustomerForgottenError(ConflictError):
    """The customer asked to be forgotten: their record takes no more personal data."""

    code = "customer-forgotten"


class InsufficientPointsError(ConflictError):
    """A redemption of more loyalty points than the customer's balance."""

    code = "insufficient-points"


class IdentityConflictError(ConflictError):
    """An email or phone already identifies another customer; merge them first."""

    code = "identity-conflict"


class VerificationRequiredError(ConflictError):
    """A registration's email or phone names an existing customer, and the caller neither may
    read that customer nor says how the person was verified: who it is is not told."""

    code = "verification-required"


class ConsentRequiredError(ConflictError):
    """A use of personal data whose purpose the customer has not granted, or has withdrawn."""

    code = "consent-required"


class DateOutOfRangeError(InvalidCommandError):
    """A date no business would use: an expiry centuries away, a shipment expected in 0001."""

    code = "date-out-of-range"


class BackdatedTooFarError(InvalidCommandError):
    """`occurred_at` lies further back than the caller's channel may date a command."""

    code = "backdated-too-far"


class OccurredInFutureError(InvalidCommandError):
    """`occurred_at` lies later than the ledger's clock by more than the allowed skew."""

    code = "occurred-in-future"


class NotPermittedError(DomainError):
    """The caller may not act on this object: another channel's, or another location's."""

    code = "forbidden"


class ReturnExceedsSaleError(ConflictError):
    """A return of more units than were sold (to that customer) and not yet returned."""

    code = "return-exceeds-sale"


class OrderStateError(ConflictError):
    """A transition the order (or one of its fulfilment orders, payments or returns) cannot
    take from the state it is in: the message names the current state and what was expected."""

    code = "order-state"


class CannotSourceError(ConflictError):
    """No location (or set of locations, where the channel allows a split) can serve every
    line of an order under the channel's rules; the details say why for each location."""

    code = "cannot-source"


class UnknownOrderError(NotFoundError):
    code = "unknown-order"


class UnknownFulfilmentError(NotFoundError):
    """An order has no fulfilment order of that id."""

    code = "unknown-fulfilment"


class HoldLimitError(ConflictError):
    """A reservation cannot be held longer: extended too often, or beyond its longest hold."""

    code = "hold-limit"


class UnknownShipmentError(NotFoundError):
    """No incoming shipment of that reference is announced (or still open) at the stock."""

    code = "unknown-shipment"


class UnknownPreorderError(NotFoundError):
    code = "unknown-preorder"


class UnknownTransferError(NotFoundError):
    """No transfer of that id is in transit to the stock."""

    code = "unknown-transfer"


class PreordersOffError(ConflictError):
    """The channel may not take pre-orders of the SKU (its switch is off)."""

    code = "preorders-off"


class PreorderStateError(ConflictError):
    """A pre-order cannot take the step from the state it is in; the message names both."""

    code = "preorder-state"


class UnknownTillError(NotFoundError):
    code = "unknown-till"


class TillSequenceError(ConflictError):
    """A journal line out of its till's order: a gap before it (earlier lines missing)."""

    code = "till-sequence"


class UnknownSuggestionError(NotFoundError):
    code = "unknown-suggestion"


class SuggestionClosedError(ConflictError):
    """A replenishment suggestion a later run superseded: it can no longer be accepted."""

    code = "suggestion-closed"
