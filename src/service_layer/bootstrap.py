"""The composition root: builds the running ledger from settings. Entry points call this."""

from __future__ import annotations

from dataclasses import dataclass

from domain.ledger import InventoryLedger
from service_layer.command_writer import CommandWriter
from service_layer.migrations import pending_migrations
from service_layer.read_side import ReadSide, build_read_side
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
    read_side: ReadSide | None = None

    def start(self) -> None:
        self.writer.start()
        self.sweeper.start()
        if self.read_side is not None:
            self.read_side.start()

    def close(self) -> None:
        if self.read_side is not None:
            self.read_side.close()
        self.sweeper.stop()
        self.writer.stop()
        self.ledger.close()


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
    return LedgerRuntime(settings, ledger, writer, sweeper, build_read_side(settings, ledger))
