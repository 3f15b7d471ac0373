"""The composition root: builds the running ledger from settings. Entry points call this."""

from __future__ import annotations

from dataclasses import dataclass

from domain.ledger import InventoryLedger
from privacy.access_log import AccessLog
from service_layer.command_writer import CommandWriter
from service_layer.customer_desk import CustomerDesk
from service_layer.customer_store import (
    close_customer_ledger,
    open_access_log,
    open_customer_ledger,
)
from service_layer.migrations import pending_migrations
from service_layer.reservation_sweeper import ReservationSweeper
from service_layer.settings import Settings, eventsourcing_env, postgres_conninfo


class SchemaNotReadyError(RuntimeError):
    """The PostgreSQL schema lacks migrations the ledger needs."""


@dataclass
class LedgerRuntime:
    settings: Settings
    ledger: InventoryLedger
    writer: CommandWriter
    sweeper: ReservationSweeper
    customers: CustomerDesk
    access_log: AccessLog

    def start(self) -> None:
        self.writer.start()
        self.sweeper.start()

    def close(self) -> None:
        self.sweeper.stop()
        self.writer.stop()
        self.ledger.close()
        close_customer_ledger(self.customers.ledger)


def bootstrap(settings: Settings) -> LedgerRuntime:
    if settings.is_postgres():
        pending = pending_migrations(postgres_conninfo(settings.event_store_url))
        if pending:
            raise SchemaNotReadyError(
                f"the database lacks {len(pending)} migration(s) ({', '.join(pending)}); "
                "run `glow migrate` first"
            )
    ledger = InventoryLedger(env=eventsourcing_env(settings.event_store_url))
    writer = CommandWriter(ledger, max_group=settings.max_group, max_attempts=settings.max_attempts)
    sweeper = ReservationSweeper(ledger, writer, settings.sweep_interval_seconds)
    customer_ledger = open_customer_ledger(settings)
    access_log = open_access_log(customer_ledger, settings)
    return LedgerRuntime(
        settings, ledger, writer, sweeper, CustomerDesk(customer_ledger), access_log
    )
