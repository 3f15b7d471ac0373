"""Whether this process should get traffic now: the one decision behind `/health/ready` (and so
a Kubernetes readiness probe or a load balancer's check). Liveness is another question: a
process that is not ready may well be alive (a writer standing by, a read model catching up);
`liveness` names only what a restart would cure.

Each reason names what is not ready and is safe to show to anyone (the probe carries no
token): no URL, host, error text or figure beyond a lag in events. The logs say the rest.
"""

from __future__ import annotations

import logging

from service_layer.bootstrap import LedgerRuntime
from streams.embedded_driver import CONSUMER

log = logging.getLogger(__name__)


def readiness(runtime: LedgerRuntime) -> list[str]:
    """Why this process should get no traffic now; empty when it is ready. Blocking (a cheap
    query to the store and each read model): call it off the event loop."""
    reasons = []
    if runtime.draining:  # SIGTERM: in-flight commands finish, new traffic goes elsewhere
        reasons.append("draining: the process is shutting down")
    writer = runtime.writer.not_ready()
    if writer is not None:
        reasons.append(f"writer: {writer.reason}")
    head = _log_head(runtime)
    if head is None:
        reasons.append("event store: does not answer a query")
    reasons += _read_models(runtime, head)
    return reasons


def liveness(runtime: LedgerRuntime) -> list[str]:
    """What only a restart cures: the writer's process gone for good (it is never started
    again in place). A writer standing by, or a store that does not answer, is not a reason:
    restarting would not help, and would lose the process's place in the queue for the lock."""
    writer = runtime.writer.not_ready()
    if writer is not None and writer.for_good:
        return [f"writer: {writer.reason}"]
    return []


def _log_head(runtime: LedgerRuntime) -> int | None:
    try:
        return runtime.ledger.recorder.max_notification_id() or 0
    except Exception as error:  # any fault of the store: not ready, said once in the log
        log.warning("readiness: the event store did not answer: %s", type(error).__name__)
        return None


def _read_models(runtime: LedgerRuntime, head: int | None) -> list[str]:
    """Each read model this process serves answers a read of its position; without a broker
    the follower of this process must also be within GLOW_READY_MAX_BEHIND_EVENTS of the
    log's head (a fresh process replaying the log is not ready until it has caught up). With
    a broker the workers keep the models: their lag is for alerts, never a reason to take
    every API replica out of service."""
    read_side = runtime.read_side
    if read_side is None:
        return []
    reasons = []
    positions = []
    for name, sink in (("hot views", read_side.sinks.hot_views), ("facts", read_side.sinks.facts)):
        if sink is None:
            continue
        try:
            positions.append(sink.position(CONSUMER))
        except Exception as error:  # Redis or ClickHouse unreachable, or refusing reads
            log.warning("readiness: the %s did not answer: %s", name, type(error).__name__)
            reasons.append(f"read models: the {name} do not answer")
    follower = read_side.follower
    if follower is not None and head is not None and positions and not reasons:
        behind = head - min(positions)
        limit = runtime.settings.ready_max_behind_events
        if behind > limit:
            reasons.append(f"read models: {behind} events behind the ledger (ready within {limit})")
    return reasons
