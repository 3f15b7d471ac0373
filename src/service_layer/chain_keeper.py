"""Keeps the audit hash chain current while the ledger runs (PostgreSQL only).

The chain is extended by a tracked follower (audit/chain_follower.py) that takes an advisory
lock, so several ledger processes, or `glow chain --follow` beside them, never race."""

from __future__ import annotations

import logging
import threading

from audit.chain_follower import extend_chain
from streams.outages import Backoff

log = logging.getLogger(__name__)


class ChainKeeper:
    def __init__(self, conninfo: str, interval_seconds: float) -> None:
        self._conninfo = conninfo
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-chain", daemon=True)
        self.chained_total = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """After the link in progress (each extension commits with its checkpoint)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = Backoff("extending the audit chain", log, first=self._interval)
        wait = self._interval
        while not self._stop.wait(wait):
            try:
                chained = extend_chain(self._conninfo)
            except Exception as error:  # a storage fault: one line, then a growing pause
                wait = backoff.failed(error)
                continue
            self.chained_total += chained
            log.log(  # one line per step; an idle step only at DEBUG (configuration/logs.py)
                logging.INFO if chained else logging.DEBUG,
                "chain keeper step",
                extra={"step": "chain-keeper", "chained": chained},
            )
            backoff.succeeded()
            wait = self._interval
