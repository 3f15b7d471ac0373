"""eventsourcing's PostgreSQL factory, with the connection parameters its settings lack.

Its datastore connects with dbname, host, port, user and password only (POSTGRES_*), so a
store URL's query (`?sslmode=verify-full&sslrootcert=/etc/glow/ca.pem`, `sslcert`, `sslkey`,
`application_name`, ...) would never reach libpq. GLOW's settings pass that query here
(POSTGRES_LIBPQ_PARAMS, configuration.settings.eventsourcing_env) and this factory adds its
parameters, unchanged, to every connection of the datastore's pool, as psycopg.connect would
take them from the URL itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType

LIBPQ_PARAMS = "POSTGRES_LIBPQ_PARAMS"  # a URL's query: name=value&name=value


class LedgerPostgresFactory(PostgresFactory):
    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        extra = libpq_params(self.env.get(LIBPQ_PARAMS) or "")
        if extra:
            pool = self.datastore.pool
            assert isinstance(pool.kwargs, dict), "eventsourcing passes its kwargs as a dict"
            kwargs: dict[str, Any] = {**pool.kwargs, **extra}
            pool.kwargs = kwargs  # the pool is not open yet: every connection gets them


def libpq_params(query: str) -> dict[str, str]:
    """`sslmode=verify-full&sslrootcert=/ca.pem` -> {"sslmode": ..., "sslrootcert": ...}."""
    return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False))
