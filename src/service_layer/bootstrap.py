"""The composition root: builds the running ledger from settings. Entry points call this."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from configuration.settings import Settings, eventsourcing_env, postgres_conninfo
from domain.ledger import InventoryLedger
from privacy.access_log import AccessLog
from privacy.pseudonyms import Pseudonyms
from service_layer.behaviour_desk import BehaviourIngestion, behaviour_ingestion
from service_layer.chain_keeper import ChainKeeper
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import (
    SealedCustomerLedger,
    close_customer_ledger,
    open_access_log,
    open_customer_ledger,
    open_purchase_index,
    open_survey_tallies,
)
from service_layer.experiment_desk import ExperimentDesk, open_experiment_ledger
from service_layer.experiment_serving import ExperimentServing
from service_layer.loyalty_follower import LoyaltyService
from service_layer.purchase_index import PurchaseIndex
from service_layer.read_side import ReadSide, build_read_side
from service_layer.reservation_sweeper import ReservationSweeper
from service_layer.webhook_desk import WebhookDesk
from service_layer.writer import Writer
from service_layer.writer_client import RemoteWriter
from service_layer.writer_connection import NetworkWriter
from service_layer.writer_thread import InProcessWriter
from storage.migrations import pending_migrations
from storage.survey_tallies import SurveyTallies

if TYPE_CHECKING:
    from service_layer.segment_desk import SegmentDesk  # and ClickHouse's clients: with facts
    from service_layer.segment_follower import DimensionFollower
    from service_layer.webhook_service import WebhookService  # and aiohttp: only when asked

log = logging.getLogger(__name__)
CLOSE_SECONDS = 30.0  # close() outside a drain: each part's own wait, at most this in all


class SchemaNotReadyError(RuntimeError):
    """The PostgreSQL schema lacks migrations the ledger needs."""


@dataclass
class LedgerRuntime:
    settings: Settings
    ledger: InventoryLedger
    writer: Writer
    sweeper: ReservationSweeper
    customers: CustomerDesk
    access_log: AccessLog
    purchases: PurchaseIndex
    pseudonyms: Pseudonyms
    chain_keeper: ChainKeeper | None = None
    read_side: ReadSide | None = None
    webhook_desk: WebhookDesk | None = None  # PostgreSQL: subscriptions, dead letters
    webhooks: WebhookService | None = None  # the thread that delivers (no broker)
    loyalty: LoyaltyService | None = None  # the thread that earns points (no broker)
    segments: SegmentDesk | None = None  # where this process serves the ClickHouse facts
    segment_follower: DimensionFollower | None = None  # embedded: keeps the dimension current
    survey_tallies: SurveyTallies | None = None  # counts of anonymous survey answers
    behaviour: BehaviourIngestion | None = None  # POST /track: None without ClickHouse/broker
    experiments: ExperimentDesk | None = None  # definitions, assignments, reports
    experiment_serving: ExperimentServing | None = None  # None where exposures cannot be logged
    # Set once SIGTERM arrived (cli/serving.py): readiness answers "not ready" from then on,
    # and close() stops everything by `stop_by` (time.monotonic()).
    draining: bool = False
    stop_by: float | None = None

    def begin_draining(self, grace_seconds: float) -> None:
        """From now on the process is going away: it answers what is in flight, takes no new
        connections, and must be gone within `grace_seconds`."""
        if not self.draining:
            self.stop_by = time.monotonic() + grace_seconds
            self.draining = True

    def start(self) -> None:
        self.writer.start()
        if self.webhooks is not None:
            self.webhooks.start()
        if self.loyalty is not None:
            self.loyalty.start()
        self.sweeper.start()
        if self.chain_keeper is not None:
            self.chain_keeper.start()
        if self.read_side is not None:
            self.read_side.start()
        if self.segment_follower is not None:
            self.segment_follower.start(self.settings.segments_refresh_seconds)
        if self.behaviour is not None:
            self.behaviour.start()

    def close(self) -> None:
        """Stop the threads that follow the log or send commands, each after the step it is
        in (a sweep's expiry, a chain link, a projected page, a webhook page: each committed
        with its position), then the writer, which answers every command it holds first.
        Within the drain's deadline if one began, else within CLOSE_SECONDS."""
        stop_by = self.stop_by or time.monotonic() + CLOSE_SECONDS
        # The writer's share: its last group needs a round trip, its process an exit.
        writer_share = min(5.0, max(0.0, stop_by - time.monotonic()) / 3)

        def left(share: float = writer_share) -> float:
            return max(0.1, stop_by - share - time.monotonic())

        self.sweeper.stop(left())  # first: it sends commands
        if self.webhooks is not None:
            self.webhooks.stop(left())
        if self.loyalty is not None:  # it sends customer commands: before their writer
            self.loyalty.stop(left())
        if self.webhook_desk is not None:
            self.webhook_desk.close()
        if self.segment_follower is not None:
            self.segment_follower.stop(left())
        if self.segments is not None and self.segments.book is not None:
            self.segments.book.close()
        if self.behaviour is not None:  # its buffer writes through the read side's client
            self.behaviour.stop(left())
        if self.read_side is not None:
            self.read_side.close(left())
        if self.chain_keeper is not None:
            self.chain_keeper.stop(left())
        self.writer.stop(left(0.0))
        if self.draining:
            log.info("stopped: %d command(s) committed", self.writer.commands_committed)
        self.customers.close()
        self.ledger.close()
        close_customer_ledger(self.customers.ledger)
        if self.experiments is not None:
            self.experiments.ledger.close()


def open_ledger(settings: Settings, connections: int | None = None) -> InventoryLedger:
    """The ledger alone, for readers (auditors' commands) that write nothing; `connections`
    bounds its PostgreSQL pool for a reader that reads now and then."""
    require_schema(settings)
    env = eventsourcing_env(settings.event_store_url)
    if connections is not None and "POSTGRES_POOL_SIZE" in env:
        env.update(POSTGRES_POOL_SIZE=str(connections), POSTGRES_MAX_OVERFLOW="0")
    return InventoryLedger(env=env)


def require_schema(settings: Settings) -> None:
    if settings.is_postgres():
        pending = pending_migrations(postgres_conninfo(settings.event_store_url))
        if pending:
            raise SchemaNotReadyError(
                f"the database lacks {len(pending)} migration(s) ({', '.join(pending)}); "
                "run `glow migrate` first"
            )


def bootstrap(settings: Settings) -> LedgerRuntime:
    require_schema(settings)
    ledger = InventoryLedger(env=eventsourcing_env(settings.event_store_url))
    writer: Writer
    if settings.writer_url and settings.is_postgres():
        writer = NetworkWriter(settings)  # `glow writer`, shared by every replica
    elif settings.writer_process and settings.is_postgres():
        writer = RemoteWriter(settings)
    else:
        writer = InProcessWriter(
            ledger, max_group=settings.max_group, max_attempts=settings.max_attempts
        )
    sweeper = ReservationSweeper(ledger, writer, settings.sweep_interval_seconds)
    keeper = None
    if settings.is_postgres() and settings.chain_interval_seconds > 0:
        keeper = ChainKeeper(
            postgres_conninfo(settings.event_store_url), settings.chain_interval_seconds
        )
    customer_ledger = open_customer_ledger(settings)
    read_side = build_read_side(settings, ledger, customer_ledger)
    access_log = open_access_log(customer_ledger, settings)
    customers = CustomerDesk(customer_ledger)
    webhook_desk, webhooks = _webhooks(settings, ledger, customers)
    loyalty = None
    # Its rows live in PostgreSQL; with a broker, `glow loyalty run` is the one follower.
    if settings.is_postgres() and settings.loyalty and settings.broker_url is None:
        loyalty = LoyaltyService.build(settings, ledger, customers)
    segments, follower = _segments(settings, read_side, customers)
    behaviour = behaviour_ingestion(settings, read_side, customer_ledger)
    experiments, serving = _experiments(settings, read_side, customer_ledger, behaviour)
    return LedgerRuntime(
        settings,
        ledger,
        writer,
        sweeper,
        customers,
        access_log,
        open_purchase_index(ledger, customer_ledger, settings),
        Pseudonyms.from_secret(customer_ledger.vault.ledger_secret()),
        keeper,
        read_side,
        webhook_desk,
        webhooks,
        loyalty,
        segments,
        follower,
        survey_tallies=open_survey_tallies(customer_ledger, settings),
        behaviour=behaviour,
        experiments=experiments,
        experiment_serving=serving,
    )


def _experiments(
    settings: Settings,
    read_side: ReadSide | None,
    customer_ledger: SealedCustomerLedger,
    behaviour: BehaviourIngestion | None,
) -> tuple[ExperimentDesk, ExperimentServing | None]:
    """The desk everywhere; serving only where exposures reach ClickHouse (the behaviour
    path), since an experiment that cannot be measured must not change what anyone sees."""
    from recommender.config import configured_model_dir

    facts = read_side.sinks.facts if read_side is not None else None
    desk = ExperimentDesk(
        open_experiment_ledger(settings),
        configured_model_dir(),
        facts.client if facts is not None else None,
        settings.experiments_refresh_seconds,
    )
    if behaviour is None:
        return desk, None
    return desk, ExperimentServing(desk, customer_ledger.vault, behaviour.outlet)


def _segments(
    settings: Settings, read_side: ReadSide | None, customers: CustomerDesk
) -> tuple[SegmentDesk | None, DimensionFollower | None]:
    """Segments where this process serves the facts; the dimension's follower only embedded
    (with a broker, `glow segments refresh` keeps it, from cron or by hand)."""
    if read_side is None or read_side.sinks.facts is None:
        return None, None
    from projections.customer_dimension import CustomerDimension
    from service_layer.segment_desk import SegmentDesk
    from service_layer.segment_follower import DimensionFollower
    from storage.audience_book import AudienceBook

    client = read_side.sinks.facts.client
    book = (
        AudienceBook(postgres_conninfo(settings.event_store_url))
        if settings.is_postgres()
        else None
    )
    desk = SegmentDesk(client, customers, book)
    follower = None
    if settings.broker_url is None and settings.segments_refresh_seconds > 0:
        follower = DimensionFollower(customers.ledger, CustomerDimension(client))
    return desk, follower


def _webhooks(
    settings: Settings, ledger: InventoryLedger, customers: CustomerDesk
) -> tuple[WebhookDesk | None, WebhookService | None]:
    """Webhooks need PostgreSQL (their outbox); the delivering thread runs when asked."""
    if not settings.is_postgres():
        return None, None
    keys = customers.ledger.vault.masters
    desk = WebhookDesk.from_settings(settings, keys, ledger)
    if not settings.webhooks:
        return desk, None
    from service_layer.webhook_service import WebhookService

    return desk, WebhookService(settings, ledger, keys, customers)
