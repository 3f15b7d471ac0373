"""The loyalty follower: reads the inventory log after its own position (`loyalty_positions`)
and turns each settled order of a customer into `EarnPoints`, and each refunded return of one
into `LosePoints`, sent through the customer writer. Each command's idempotency key is made of
the event's id, so reading a page again after a crash earns and loses nothing twice (the
domain also earns a sale's reference once). A refusal (a forgotten, merged-away or unknown
customer) is recorded in `loyalty_refusals` and the follower goes on; an outage of a store
stops the page, which is read again once it is back.

Once a day it expires the lots past their last day (`ExpirePoints`), visiting only the
customers `loyalty_expiries` lists; `glow loyalty expire` does the same on demand.

Runs as a thread of `glow serve` on PostgreSQL without a broker, as the webhook thread does,
and as `glow loyalty run` otherwise; PostgreSQL only (its rows live there)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from configuration.settings import Settings, SettingsError, postgres_conninfo
from domain import customer_commands as c
from domain.customer import LOYALTY_TIERS
from domain.errors import DomainError
from domain.ledger import InventoryLedger
from domain.loyalty import Tiers, check_tiers, loss_reference, points_for, sale_reference
from domain.loyalty_sales import REFUND_EVENT, SETTLING_EVENTS, refund_of, settled_value
from domain.order import Order
from domain.trace import Trace
from events.envelope import Envelope
from service_layer.customer_desk import CustomerDesk
from storage.command_answers import scoped_key
from storage.loyalty_book import LoyaltyRows
from streams.log_reader import LogReader
from streams.outages import Backoff

log = logging.getLogger(__name__)

FOLLOWER = "loyalty"
PRINCIPAL = "loyalty-follower"
CHANNEL = "backoffice"
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class LoyaltyRules:
    points_per_unit: Decimal
    expiry_days: int
    tiers: Tiers

    @classmethod
    def from_settings(cls, settings: Settings) -> LoyaltyRules:
        tiers = settings.loyalty_tier_thresholds()
        try:
            check_tiers(tiers, LOYALTY_TIERS)
        except DomainError as error:
            raise SettingsError(f"GLOW_LOYALTY_TIERS: {error.message}") from None
        return cls(settings.loyalty_points_per_unit, settings.loyalty_expiry_days, tiers)


class LoyaltyFollower:
    def __init__(
        self,
        ledger: InventoryLedger,
        customers: CustomerDesk,
        rows: LoyaltyRows,
        rules: LoyaltyRules,
        page: int = 500,
    ) -> None:
        self.ledger, self.customers, self.rows, self.rules = ledger, customers, rows, rules
        self.reader = LogReader(ledger)
        self.page = page
        self.sent = 0
        self.refused = 0

    # --- earning and losing -------------------------------------------------------------------

    def follow(self) -> int:
        """Send the commands of every page up to the log's head; returns the events read."""
        read = 0
        while True:
            after = self.rows.position(FOLLOWER)
            batch = self.reader.read(after, self.page)
            if batch.last_position == after:
                return read
            for lost in batch.unreadable:
                log.warning(
                    "loyalty: event %s at %d unreadable: %s",
                    lost.event_id,
                    lost.position,
                    lost.error,
                )
            for envelope in batch.envelopes:
                if envelope.type in SETTLING_EVENTS or envelope.type == REFUND_EVENT:
                    self._follow(envelope)
            self.rows.advance(FOLLOWER, batch.last_position)
            read += len(batch.envelopes)

    def _follow(self, envelope: Envelope) -> None:
        order: Order = self.ledger.repository.get(
            UUID(envelope.aggregate_id), version=envelope.version
        )
        customer_id = _customer_uuid(order.customer_id)
        if customer_id is None:
            return  # an order without a (well-formed) customer earns nobody anything
        command = self._command(envelope, order, customer_id)
        if command is None:
            return
        key = scoped_key(PRINCIPAL, CHANNEL, f"loyalty:{envelope.event_id}")
        try:
            outcome = self.customers.execute(command, key)
        except DomainError as refusal:
            self.rows.refused(
                envelope.event_id, envelope.position, envelope.type, str(order.id), refusal.code
            )
            self.refused += 1
            log.info(
                "loyalty: %s of order %s refused (%s); going on",
                envelope.type,
                order.id,
                refusal.code,
            )
            return
        self.sent += 1
        if isinstance(command, c.EarnPoints) and outcome.body.get("earned"):
            self.rows.lot_expires(UUID(outcome.body["customer_id"]), command.expires_on)

    def _command(
        self, envelope: Envelope, order: Order, customer_id: UUID
    ) -> c.EarnPoints | c.LosePoints | None:
        trace = Trace(
            CHANNEL,
            PRINCIPAL,
            datetime.fromisoformat(envelope.timestamp),
            f"loyalty:{envelope.event_id}",
            sale_reference(order.id),
        )
        if envelope.type == REFUND_EVENT:
            return_id = str(envelope.payload["rma_id"])
            points = points_for(refund_of(order, return_id), self.rules.points_per_unit)
            if points <= 0:
                return None
            reference = loss_reference(order.id, return_id)
            return c.LosePoints(customer_id, points, reference, trace, self.rules.tiers)
        value = settled_value(order)
        points = 0 if value is None else points_for(value, self.rules.points_per_unit)
        if points <= 0:
            return None
        settled_on = trace.occurred_at.astimezone(UTC).date()
        expires_on = settled_on + timedelta(days=self.rules.expiry_days)
        return c.EarnPoints(
            customer_id, points, sale_reference(order.id), expires_on, trace, self.rules.tiers
        )

    # --- expiry -------------------------------------------------------------------------------

    def expire(self, today: date) -> int:
        """Expire the lots whose last day is before `today`; returns the points expired."""
        expired = 0
        while due := self.rows.due(today):
            for customer_id in due:
                expired += self._expire(customer_id, today)
                self.rows.expired(customer_id, today)
        return expired

    def _expire(self, customer_id: UUID, today: date) -> int:
        now = datetime.now(tz=UTC)
        key = f"loyalty-expiry:{customer_id}:{today.isoformat()}"
        trace = Trace(CHANNEL, PRINCIPAL, now, key)
        command = c.ExpirePoints(customer_id, today, trace, self.rules.tiers)
        try:
            outcome = self.customers.execute(command, scoped_key(PRINCIPAL, CHANNEL, key))
        except DomainError as refusal:
            log.info("loyalty: expiry of a customer's points refused (%s)", refusal.code)
            return 0
        return int(outcome.body.get("expired", 0))


def _customer_uuid(customer_id: str | None) -> UUID | None:
    if customer_id is None:
        return None
    try:
        return UUID(customer_id)
    except ValueError:
        return None


class LoyaltyService:
    """The follower in a loop: the log every POLL_SECONDS, expiry once a day (and at start).
    A failure (a store away) is waited out with a backoff; the position is where it was."""

    def __init__(self, follower: LoyaltyFollower) -> None:
        self.follower = follower
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._expired_for: date | None = None

    @classmethod
    def build(
        cls, settings: Settings, ledger: InventoryLedger, customers: CustomerDesk
    ) -> LoyaltyService:
        rows = LoyaltyRows(postgres_conninfo(settings.event_store_url))
        return cls(LoyaltyFollower(ledger, customers, rows, LoyaltyRules.from_settings(settings)))

    def step(self) -> int:
        today = datetime.now(tz=UTC).date()
        if self._expired_for != today:
            self.follower.expire(today)
            self._expired_for = today
        return self.follower.follow()

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or self._stop
        backoff = Backoff("loyalty follower", log)
        while not stop.is_set():
            try:
                read = self.step()
            except Exception as error:  # a store away: the page is read again once back
                stop.wait(backoff.failed(error))
                continue
            backoff.succeeded()
            if not read:
                stop.wait(POLL_SECONDS)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="loyalty", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.follower.rows.close()


def erase_loyalty(
    settings: Settings, service: LoyaltyService | None, customer_ids: list[str]
) -> None:
    """Forgetting customers deletes their loyalty expiry rows (PostgreSQL), whether the
    follower runs in this process or as `glow loyalty run` elsewhere."""
    if not settings.is_postgres() or not customer_ids:
        return
    rows = (
        service.follower.rows
        if service is not None
        else LoyaltyRows(postgres_conninfo(settings.event_store_url))
    )
    try:
        for customer_id in customer_ids:
            rows.erase(UUID(customer_id))
    finally:
        if service is None:
            rows.close()
