"""`glow worker`: the Faust worker process, its sinks opened from the settings."""

from __future__ import annotations

import logging

import faust

from cli.lag import dead_letters, log_head
from cli.metrics_port import serve_metrics
from configuration.settings import Settings, postgres_conninfo
from projections.behaviour_tables import BehaviourTables
from service_layer.bootstrap import open_ledger
from service_layer.customer_store import open_customer_log
from service_layer.read_side import open_analytics, open_hot_views, open_recommendations
from streams.dead_letters import PostgresDeadLetters
from streams.embedded_driver import Sinks
from streams.faust_app import create_app
from streams.log_reader import LogReader
from streams.positions import CUSTOMER_SUFFIX, RELAY_CUSTOMERS, PositionBook
from streams.stream_metrics import POSITIONS, LagCollector
from streams.stream_projector import WORKER, StreamProjector
from telemetry import tracing


def faust_worker(app: faust.App, settings: Settings) -> faust.Worker:
    """Faust's worker for `app`, logging as every glow process does. Faust's worker sets
    logging up again: it keeps the handler configure_logging installed (JSON lines by default)
    and the GLOW_LOG_LEVEL, instead of its coloured console."""
    ours = list(logging.getLogger().handlers)
    quiet = {"level": "WARNING"}  # Faust's own lines, as before: warnings and worse
    keep = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"handlers": []},
        "loggers": {"faust": quiet, "mode": quiet, "aiokafka": quiet},
    }
    app.conf.loghandlers = ours
    return faust.Worker(app, loglevel=settings.log_level, quiet=True, logging_config=keep)


def run_worker(settings: Settings, web_port: int, data_dir: str) -> int:
    tracing.start(settings, tracing.WORKER)
    conninfo = postgres_conninfo(settings.event_store_url)
    letters = PostgresDeadLetters(conninfo)
    sinks = Sinks(
        hot_views=open_hot_views(settings.hot_views_url) if settings.hot_views_url else None,
        facts=open_analytics(settings.analytics_url) if settings.analytics_url else None,
        letters=letters,
        recommendations=open_recommendations(settings),
    )
    book = PositionBook(conninfo)
    ledger = open_ledger(settings, connections=1)  # only to read letters again for a retry
    customer_log = open_customer_log(settings, connections=1)
    projector = StreamProjector(sinks, book, reader=LogReader(ledger))
    customers = StreamProjector(
        sinks.for_customers(),
        book,
        name=WORKER + CUSTOMER_SUFFIX,
        reader=LogReader(customer_log),
        relay=RELAY_CUSTOMERS,
    )
    for each in (sinks, customers.sinks):
        for sink, position in each.positions().items():
            POSITIONS.record(sink, position)
    serve_metrics(
        settings,
        "worker",
        LagCollector(lambda: log_head(conninfo), dead_letters=lambda: dead_letters(conninfo)),
    )
    behaviour = None
    if sinks.facts is not None:  # behaviour rows go to the same ClickHouse as the facts
        behaviour = BehaviourTables(
            sinks.facts.client, max_anonymous_ids=settings.track_max_anonymous_ids
        )
    built = create_app(
        settings.bootstrap_servers(),
        projector,
        prefix=settings.topic_prefix,
        web_port=web_port,
        data_dir=data_dir,
        behaviour=behaviour,
        customers=customers,
    )
    worker = faust_worker(built.app, settings)
    try:
        worker.execute_from_commandline()
    finally:
        projector.stopping.set()
        customers.stopping.set()
        if sinks.facts is not None:
            sinks.facts.close()
        book.close()
        letters.close()
        ledger.close()
        customer_log.close()
        tracing.stop()
    return 0
