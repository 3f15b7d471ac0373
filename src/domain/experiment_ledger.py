"""The experiments application: its own event store (`experiments_events`), beside the
inventory and customer ledgers on the same database (domain/experiment.py says what it holds)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application


class ExperimentLedger(Application[UUID]):
    name = "experiments"
