"""`glow serve`: the API under uvicorn, over TLS when given a certificate, and its graceful
shutdown.

On SIGTERM (or a first Ctrl-C) the process drains, within GLOW_SHUTDOWN_GRACE_SECONDS:

1. the runtime is marked draining (readiness answers "not ready" from then on) and uvicorn
   stops accepting connections: a new connection is refused, an idle kept-alive one closed,
   and a request in flight is answered on a connection that then closes;
2. in-flight requests are awaited, the writer still taking their commands, for about two
   thirds of the grace. A command still unanswered then is answered 503 "retry with the same
   Idempotency-Key" (it may yet commit, once: the key replays it); uvicorn cancels whatever
   request is left (a read, an upload) a little later;
3. the application's lifespan ends: the sweeper, the webhook thread, the embedded follower
   and the chain keeper stop after the step they are in, each at a committed position, then
   the writer answers every command it holds and its process exits (runtime.close());
4. the process exits 0.

A second Ctrl-C forces uvicorn out at once (its own rule); SIGKILL loses nothing committed
either, only the answers in flight.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from api.command_waits import deadlines
from configuration.settings import Settings, SettingsError
from service_layer.bootstrap import LedgerRuntime
from service_layer.writer import WriterStoppedError

log = logging.getLogger("glow.serve")

HTTP_SHARE = 2 / 3  # of the grace, for requests in flight; the rest stops the background
ANSWER_MARGIN = 0.5  # seconds before uvicorn's cut: unanswered commands get their 503 first


@dataclass(frozen=True)
class Tls:
    """The listener's certificate and key (PEM), and optionally the CAs whose client
    certificates it requires."""

    certfile: str
    keyfile: str
    ca_certs: str = ""

    @classmethod
    def from_options(
        cls, settings: Settings, certfile: str | None, keyfile: str | None, ca_certs: str | None
    ) -> Tls | None:
        """The command line's files, else the settings'; None for plain HTTP. A
        SettingsError names what is missing or unreadable."""
        cert = certfile or settings.tls_certfile
        key = keyfile or settings.tls_keyfile
        cas = ca_certs or settings.tls_ca_certs
        if not cert and not key:
            if cas:
                raise SettingsError(
                    "--ca-certs (GLOW_TLS_CA_CERTS) needs --certfile and --keyfile "
                    "(GLOW_TLS_CERTFILE, GLOW_TLS_KEYFILE): client certificates need TLS"
                )
            return None
        if not cert or not key:
            raise SettingsError(
                "TLS needs both a certificate and its key: --certfile and --keyfile "
                "(GLOW_TLS_CERTFILE and GLOW_TLS_KEYFILE), PEM files"
            )
        tls = cls(cert, key, cas)
        tls.check()
        return tls

    def check(self) -> None:
        """Load the files as uvicorn will, so that a bad one is refused before start-up
        with its name, not as a traceback out of the server."""
        for name, path in (("certificate", self.certfile), ("key", self.keyfile)):
            if not Path(path).is_file():
                raise SettingsError(f"the TLS {name} file {path} does not exist (expected PEM)")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(self.certfile, self.keyfile)
            if self.ca_certs:
                context.load_verify_locations(self.ca_certs)
        except (ssl.SSLError, OSError) as error:
            raise SettingsError(
                f"cannot use the TLS files (certificate {self.certfile}, key {self.keyfile}"
                + (f", CAs {self.ca_certs}" if self.ca_certs else "")
                + f"): {error}; expected a PEM certificate chain and its unencrypted PEM key"
            ) from None

    def uvicorn_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"ssl_certfile": self.certfile, "ssl_keyfile": self.keyfile}
        if self.ca_certs:
            options.update(ssl_ca_certs=self.ca_certs, ssl_cert_reqs=ssl.CERT_REQUIRED)
        return options


class DrainingServer(uvicorn.Server):
    """uvicorn's server, which marks the runtime draining as soon as the signal arrives and
    answers the commands still waiting before it cancels what is left."""

    def __init__(self, config: uvicorn.Config, runtime: LedgerRuntime) -> None:
        super().__init__(config)
        self.runtime = runtime
        self.grace = runtime.settings.shutdown_grace_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            self.runtime.begin_draining(self.grace)
            log.warning(
                "%s: draining: no new connections; in-flight requests answered, then the "
                "background stopped and the writer drained, within %g s",
                signal.Signals(sig).name,
                self.grace,
            )
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        http_seconds = self.config.timeout_graceful_shutdown or self.grace * HTTP_SHARE
        cut = asyncio.get_running_loop().call_later(
            max(0.0, http_seconds - ANSWER_MARGIN), _answer_waiting_commands
        )
        started = time.monotonic()
        try:
            await super().shutdown(sockets)
        finally:
            cut.cancel()
        log.info("drained and stopped in %.2f s", time.monotonic() - started)


def _answer_waiting_commands() -> None:
    refused = deadlines().fail_all(
        WriterStoppedError(
            "the ledger is shutting down and this command was not committed within its drain "
            "(it may still commit, once)"
        )
    )
    if refused:
        log.warning("drain: %d command(s) still waiting answered 503", refused)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """After a graceful shutdown uvicorn raises the signal again under the handler that was
    there before it: this one, so that a drained process exits 0, not killed by SIGTERM."""


def serve(
    runtime: LedgerRuntime,
    app: Any,
    host: str,
    port: int,
    log_level: str,
    tls: Tls | None = None,
) -> None:
    settings = runtime.settings
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,  # uvicorn's lines go through configure_logging's handler
        access_log=False,  # one line per request comes from api/request_observation.py
        # h11 (when httptools is absent) refuses a header block larger than this while reading
        # it; every parser's headers are also counted and sized before any rule reads them
        # (api/header_limits.py).
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds * HTTP_SHARE)),
        **(tls.uvicorn_options() if tls is not None else {}),
    )
    signal.signal(signal.SIGTERM, _ignore)
    DrainingServer(config, runtime).run()
