"""Settings from the environment: one code path, different URLs."""

from __future__ import annotations

import base64
import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_STORE_URL = "sqlite:///var/ledger.sqlite"
DEFAULT_ANALYTICS_URL = f"chdb://{Path('var/analytics').resolve()}"
# How far back a command may be dated (`occurred_at`), per channel; an admin token (imports of
# history, the demo) by the `admin` entry whatever channel it names. Seconds.
DAY = 24 * 3600
DEFAULT_BACKDATING_SECONDS = {
    "web": 900,  # a web shop reports at once
    "app": 3600,  # an app queues commands while offline
    "marketplace": DAY,  # marketplaces send their orders in feeds
    "pos": 7 * DAY,  # a till offline over a long weekend and more
    "backoffice": 30 * DAY,  # paperwork recorded late
    "admin": 3650 * DAY,  # imports of history
}
MAX_BACKDATING_SECONDS = 3650 * DAY
# How long a channel may retry a command with the same Idempotency-Key and get its first
# answer back (the API's documentation says so): the longest a non-admin channel may date a
# command late (`backoffice`, 30 days), since a command sent that late may be retried as late.
# The retention of command answers may never be shorter (GLOW_RETAIN_COMMAND_ANSWERS).
IDEMPOTENCY_RETRY_WINDOW_SECONDS = 30 * DAY


class SettingsError(ValueError):
    """A setting has a value the ledger cannot use."""


def ensure_folder(folder: str | Path, setting: str) -> Path:
    """The folder a setting names, made with its parents if missing; a SettingsError naming
    the folder and the setting if it cannot be made or written to, so a command refuses at
    start instead of failing halfway with a bare OSError."""
    path = Path(folder)
    try:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(0, "it exists and is not a folder")
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(
            f"cannot create the folder {path} for {setting}: {error.strerror or error}; "
            f"make it creatable or point {setting} at another folder"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(
            f"the folder {path} for {setting} is not writable; "
            f"make it writable or point {setting} at another folder"
        )
    return path


def ensure_parent(file: str | Path, setting: str) -> Path:
    """`file`, once the folder that will hold it exists (see ensure_folder)."""
    path = Path(file)
    ensure_folder(path.parent, setting)
    return path


def development_secret(
    path: Path, make: Callable[[], str], folder_setting: str = "GLOW_EVENT_STORE_URL"
) -> str:
    """A development stand-in for an unset secret: kept in `path` (mode 0600, in the folder
    `folder_setting` names), made once by `make`."""
    ensure_parent(path, folder_setting)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(make())
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    event_store_url: str = DEFAULT_STORE_URL
    reservation_ttl_seconds: int = 900
    sweep_interval_seconds: float = 1.0
    max_group: int = 256
    max_attempts: int = 5
    # PostgreSQL only: the command writer in a child process (service_layer/writer_client.py).
    # From the environment: on by default on PostgreSQL. Built directly (tests): off.
    writer_process: bool = False
    max_body_bytes: int = 64 * 1024
    command_timeout_seconds: float = 10.0
    chain_interval_seconds: float = 2.0
    # Segments: how often the embedded customer-dimension follower reads the customer log
    # (service_layer/segment_follower.py); 0 leaves it to `glow segments refresh`.
    segments_refresh_seconds: float = 5.0
    # Experiments: how long an API process serves its copy of the running experiment (and
    # which variants are stopped) before reading it again (service_layer/experiment_desk.py).
    experiments_refresh_seconds: float = 1.0
    # Demand forecasts (`glow forecast run`): days forecast, and whether refused demand and
    # out-of-stock days correct the sales it learns from (forecasting/censoring.py).
    forecast_horizon_days: int = 28
    forecast_censored: bool = True
    # Read models: None turns one off. "memory://" is the in-process hot-view store.
    hot_views_url: str | None = None
    analytics_url: str | None = None
    master_key: str = ""  # base64, 32 bytes; wraps every customer's data key
    previous_master_keys: str = ""  # comma-separated; kept only until `glow keys rotate`
    jwt_secret: str = ""  # HS256 key for bearer tokens (the embedded default)
    jwt_jwks_url: str = ""  # RS256 keys of an external OpenID Connect provider, if set
    jwt_issuer: str = ""
    jwt_audience: str = ""
    # kafka://host:port: the cluster path (relay + Faust workers); None: the embedded driver.
    broker_url: str | None = None
    topic_prefix: str = ""  # topics and the worker group under a prefix (tests, tenants)
    # Exports, histories, analytics: in flight at once per principal, and in all (429 beyond).
    expensive_reads_per_principal: int = 2
    expensive_reads_total: int = 4
    jwt_max_lifetime_seconds: int = 24 * 3600  # a token's exp - iat may not exceed this
    max_header_count: int = 64  # request headers; more, or more bytes, is a 431
    max_header_bytes: int = 16 * 1024
    backdating_seconds: dict[str, int] = field(
        default_factory=lambda: dict(DEFAULT_BACKDATING_SECONDS)
    )
    # Tokens of the channel and store-staff roles: the most units on one line of a
    # reservation, sale or return, and the longest hold a reservation may ask for.
    seller_max_line_quantity: int = 1000
    seller_max_reservation_ttl_seconds: int = 3600
    # Outbound webhooks and marketplace feeds (PostgreSQL): a thread of `glow serve` without a
    # broker (from the environment: on by default there), else the `glow webhooks` process.
    webhooks: bool = False
    webhook_timeout_seconds: float = 5.0  # per call to a subscriber
    webhook_max_attempts: int = 8  # then the delivery is a dead letter
    webhook_backoff_seconds: float = 1.0  # first retry; doubles, with jitter
    webhook_backoff_cap_seconds: float = 600.0
    webhook_concurrency: int = 64  # calls in flight at once
    webhook_private_hosts: bool = False  # receivers at loopback/private addresses allowed
    stock_low_units: int = 5  # stock.low when a location's available falls below this
    feed_interval_seconds: float = 5.0  # at most one feed publication per SKU per interval
    # Replenishment (`glow replenish`): the policy where a SKU x location has none set, the
    # shelf life of a SKU no batch was received of, the days a transfer takes.
    replenishment_service_level: float = 0.95
    replenishment_lead_time_days: int = 7
    replenishment_review_days: int = 7
    replenishment_shelf_life_days: int = 365
    replenishment_transfer_days: int = 1
    # Loyalty points (PostgreSQL): the follower that earns points on settled orders and loses
    # them on refunded returns, a thread of `glow serve` without a broker (from the
    # environment: on by default there), else the `glow loyalty run` process.
    loyalty: bool = False
    loyalty_points_per_unit: Decimal = Decimal(1)  # points per unit of the order's currency
    loyalty_expiry_days: int = 365  # a lot's last day: this many days after the sale settled
    # Tiers by qualifying points (member from 0): "silver=500,gold=2000,platinum=5000".
    loyalty_tiers: str = "silver=500,gold=2000,platinum=5000"
    # Metrics of the processes without HTTP (relay, worker, webhooks, rebuild): a Prometheus
    # /metrics port of their own; None: none. The API serves /metrics on its own port.
    metrics_port: int | None = None
    metrics_address: str = "0.0.0.0"  # noqa: S104 (scraped from other pods; no personal data)
    # OpenTelemetry traces (telemetry/tracing.py), exported over OTLP/HTTP to where the
    # standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT says. Off: the SDK is never imported.
    tracing: bool = False
    trace_sample_ratio: float = 1.0  # of the traces this ledger starts (parent-based)
    # Retention (`glow retention apply`), in seconds; the README says why each default.
    retain_command_answers_seconds: int = 35 * DAY  # never below the retry window
    retain_pii_access_log_seconds: int = 6 * 365 * DAY
    retain_behaviour_data_seconds: int = 8 * DAY
    retain_webhook_deliveries_seconds: int = 30 * DAY
    retain_webhook_dead_letters_seconds: int = 90 * DAY
    retain_model_artefacts_seconds: int = 90 * DAY
    retain_marketplace_feed_seconds: int = 90 * DAY
    # A survey delivery's id is kept to answer a resend once: a sender retries for a few days
    # (Standard Webhooks senders: up to about 5), each time re-signed under the same id.
    retain_survey_deliveries_seconds: int = 7 * DAY
    # Operations: how long `glow serve` may take from SIGTERM to exit (in-flight commands
    # answered, background threads and the writer stopped), and TLS for its listener.
    shutdown_grace_seconds: float = 25.0
    tls_certfile: str = ""  # PEM; with tls_keyfile, `glow serve` answers only HTTPS
    tls_keyfile: str = ""
    tls_ca_certs: str = ""  # PEM CA bundle: when set, clients must present a certificate
    # One writer per store (storage/writer_lock.py): the writer process leads only while it
    # holds the store's advisory lock; another waits, trying again every interval.
    writer_lock: bool = True
    writer_lock_retry_seconds: float = 2.0
    # The shared writer (`glow writer`, service_layer/shared_writer.py): where it listens,
    # where `glow serve` finds it (tcp://host:port[,host:port...], tried in turn; unset: the
    # writer is `glow serve`'s child as before), and the secret both prove (writer_wire.py).
    writer_listen: str = "127.0.0.1:7070"
    writer_url: str = ""
    writer_secret: str = ""
    # /health/ready without a broker: this process's read models within this many events of
    # the log's head (service_layer/readiness.py).
    ready_max_behind_events: int = 10_000
    # Rate limits at the edge (api/rate_limits.py), in the `limits` library's notation
    # ("200/second", several windows joined by ";"). Off unless GLOW_RATE_LIMITS: the right
    # figures depend on the business and on how many API processes share them.
    rate_limits: bool = False
    rate_limit_per_subject: str = "200/second;6000/minute"  # each token subject
    rate_limit_per_channel: str = "2000/second"  # every caller of one channel together
    rate_limit_roles: str = ""  # "store-staff=1000/second,operator=5/second": per role, per subject
    rate_limit_channels: str = ""  # "pos=5000/second": per channel, instead of the one above
    # Where the windows are counted: unset, Redis when the hot views are in Redis (every API
    # process then shares one budget), else in this process ("memory://").
    rate_limit_storage_url: str | None = None
    log_format: str = "json"  # json: one JSON object a line; text: for a terminal
    log_level: str = "INFO"
    # The recommender's implicit signals (recommender/behaviour_signals.py): where it reads
    # behaviour (unset: GLOW_ANALYTICS_URL when that is a ClickHouse server; a chDB path only
    # when named here, as another process may own it), how many recent days (0: none), and the
    # most customer x SKU x event rows one training reads.
    recommender_behaviour_url: str | None = None
    recommender_behaviour_days: int = 30
    recommender_behaviour_max_rows: int = 200_000
    # Continuous training (`glow recommend follow`, recommender/continuous.py): where the model
    # versions live (a volume in the cluster), a warm update once this many new interactions
    # arrived or this many seconds passed with at least one, a full retrain this often.
    model_dir: str = "var/recommender"
    recommender_update_interactions: int = 1000
    recommender_update_seconds: float = 900.0
    recommender_retrain_hours: float = 24.0
    # Survey tools that send answers by signed webhook (POST /feedback/surveys): each source's
    # Standard Webhooks secret, "source:whsec_...,other:whsec_..." (never logged).
    survey_webhook_secrets: str = field(default="", repr=False)

    def survey_webhook_secret(self, source: str) -> str | None:
        """The signing secret of a survey source, None when none is configured."""
        return survey_sources(self.survey_webhook_secrets).get(source)

    # Behaviour ingestion (POST /track, service_layer/behaviour_desk.py): events breaking the
    # tracking plan are blocked or stored flagged; an anonymous id belongs to one person, a
    # person has at most this many; the embedded buffer's flush interval; batch and body caps.
    tracking_violations: str = "block"
    track_max_anonymous_ids: int = 50
    track_flush_seconds: float = 0.15
    track_max_batch: int = 500
    track_max_body_bytes: int = 1024 * 1024

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {
            "event_store_url": env.get("GLOW_EVENT_STORE_URL", DEFAULT_STORE_URL),
            "reservation_ttl_seconds": _int(env, "GLOW_RESERVATION_TTL_SECONDS", 900),
            "sweep_interval_seconds": _float(env, "GLOW_SWEEP_INTERVAL_SECONDS", 1.0),
            "max_group": _int(env, "GLOW_MAX_GROUP", 256),
            "max_attempts": _int(env, "GLOW_MAX_ATTEMPTS", 5),
            "max_body_bytes": _int(env, "GLOW_MAX_BODY_BYTES", 64 * 1024),
            "command_timeout_seconds": _float(env, "GLOW_COMMAND_TIMEOUT_SECONDS", 10.0),
            "chain_interval_seconds": _float(env, "GLOW_CHAIN_INTERVAL_SECONDS", 2.0),
            "segments_refresh_seconds": _float(env, "GLOW_SEGMENTS_REFRESH_SECONDS", 5.0),
            "hot_views_url": env.get("GLOW_HOT_VIEWS_URL", "memory://") or None,
            "analytics_url": env.get("GLOW_ANALYTICS_URL", DEFAULT_ANALYTICS_URL) or None,
            "master_key": env.get("GLOW_MASTER_KEY", ""),
            "previous_master_keys": env.get("GLOW_PREVIOUS_MASTER_KEYS", ""),
            "jwt_secret": env.get("GLOW_JWT_SECRET", ""),
            "jwt_jwks_url": env.get("GLOW_JWT_JWKS_URL", ""),
            "jwt_issuer": env.get("GLOW_JWT_ISSUER", ""),
            "jwt_audience": env.get("GLOW_JWT_AUDIENCE", ""),
            "broker_url": env.get("GLOW_BROKER_URL") or None,
            "topic_prefix": env.get("GLOW_TOPIC_PREFIX", ""),
            "expensive_reads_per_principal": _int(env, "GLOW_EXPENSIVE_READS_PER_PRINCIPAL", 2),
            "expensive_reads_total": _int(env, "GLOW_EXPENSIVE_READS_TOTAL", 4),
            "jwt_max_lifetime_seconds": _int(env, "GLOW_JWT_MAX_LIFETIME_SECONDS", 24 * 3600),
            "max_header_count": _int(env, "GLOW_MAX_HEADER_COUNT", 64),
            "max_header_bytes": _int(env, "GLOW_MAX_HEADER_BYTES", 16 * 1024),
            "backdating_seconds": _backdating(env.get("GLOW_BACKDATING_SECONDS", "")),
            "seller_max_line_quantity": _int(env, "GLOW_SELLER_MAX_LINE_QUANTITY", 1000),
            "seller_max_reservation_ttl_seconds": _int(
                env, "GLOW_SELLER_MAX_RESERVATION_TTL_SECONDS", 3600
            ),
        }
        values.update(_webhook_settings(env))
        values.update(_replenishment_settings(env))
        values.update(_loyalty_settings(env))
        values.update(_experiment_settings(env))
        values.update(_forecast_settings(env))
        values.update(_metrics_settings(env))
        values.update(_tracing_settings(env))
        values.update(_retention_settings(env))
        values.update(_serving_settings(env))
        values.update(_writer_lock_settings(env))
        values.update(_shared_writer_settings(env))
        values.update(_operations_settings(env))
        values.update(_recommender_settings(env))
        values["survey_webhook_secrets"] = env.get("GLOW_SURVEY_WEBHOOK_SECRETS", "")
        survey_sources(str(values["survey_webhook_secrets"]))  # refuse a malformed one at start
        values.update(_tracking_settings(env))
        values.update({k: v for k, v in overrides.items() if v is not None})
        values.setdefault("webhooks", _webhooks_on(env, values))
        values.setdefault("loyalty", _loyalty_on(env, values))
        values.setdefault("writer_process", _writer_process(env, str(values["event_store_url"])))
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.writer_url:
            if not settings.is_postgres():
                raise SettingsError(
                    "GLOW_WRITER_URL needs a PostgreSQL event store (`glow writer` serves one); "
                    "on SQLite the writer is `glow serve`'s own: unset GLOW_WRITER_URL"
                )
            settings.writer_secret_bytes()  # required with it
        return settings

    def as_env(self) -> dict[str, str]:
        """The GLOW_* variables from which a child process's from_env gives these settings
        back."""
        env = {}
        for name, variable in VARIABLES.items():
            value = getattr(self, name)
            env[variable] = "" if value is None else str(value)
        return env

    def bootstrap_servers(self) -> str:
        """`kafka://h1:9092,h2:9092` -> `h1:9092,h2:9092`, as Kafka clients take it."""
        if self.broker_url is None:
            raise SettingsError("no broker: set GLOW_BROKER_URL=kafka://host:port")
        scheme, _, hosts = self.broker_url.partition("://")
        if scheme != "kafka" or not hosts.strip("/"):
            raise SettingsError(f"broker URL {self.broker_url!r}: expected kafka://host:port")
        return hosts.strip("/")

    def loyalty_tier_thresholds(self) -> tuple[tuple[str, int], ...]:
        """GLOW_LOYALTY_TIERS as (tier, points from which it holds), `member` from 0 first."""
        return _loyalty_tiers(self.loyalty_tiers)

    def is_postgres(self) -> bool:
        return self.event_store_url.startswith(("postgresql://", "postgres://"))

    def writer_addresses(self) -> list[tuple[str, int]]:
        """GLOW_WRITER_URL's addresses, in the order `glow serve` tries them; empty when
        unset (the writer is then `glow serve`'s own child process)."""
        return _writer_addresses(self.writer_url) if self.writer_url else []

    def writer_listen_address(self) -> tuple[str, int]:
        """Where `glow writer` listens (GLOW_WRITER_LISTEN, host:port)."""
        return _host_port(self.writer_listen, "GLOW_WRITER_LISTEN", "0.0.0.0:7070")

    def writer_secret_bytes(self) -> bytes:
        """GLOW_WRITER_SECRET, which every connection to `glow writer` proves first: required
        for `glow writer` and for GLOW_WRITER_URL, on any address (even on loopback, anyone
        on the machine could otherwise send the writer pickles)."""
        if len(self.writer_secret) < MIN_WRITER_SECRET_CHARS:
            raise SettingsError(
                f"GLOW_WRITER_SECRET must be at least {MIN_WRITER_SECRET_CHARS} characters "
                f"(got {len(self.writer_secret)}): every connection to `glow writer` proves it "
                "before a frame is read; make one with `openssl rand -hex 32` and give the "
                "same value to `glow writer` and to every `glow serve` with GLOW_WRITER_URL"
            )
        return self.writer_secret.encode()


VARIABLES = {  # Settings field -> its environment variable, for Settings.as_env
    "event_store_url": "GLOW_EVENT_STORE_URL",
    "reservation_ttl_seconds": "GLOW_RESERVATION_TTL_SECONDS",
    "sweep_interval_seconds": "GLOW_SWEEP_INTERVAL_SECONDS",
    "max_group": "GLOW_MAX_GROUP",
    "max_attempts": "GLOW_MAX_ATTEMPTS",
    "writer_process": "GLOW_WRITER_PROCESS",
    "max_body_bytes": "GLOW_MAX_BODY_BYTES",
    "command_timeout_seconds": "GLOW_COMMAND_TIMEOUT_SECONDS",
    "chain_interval_seconds": "GLOW_CHAIN_INTERVAL_SECONDS",
    "segments_refresh_seconds": "GLOW_SEGMENTS_REFRESH_SECONDS",
    "experiments_refresh_seconds": "GLOW_EXPERIMENTS_REFRESH_SECONDS",
    "forecast_horizon_days": "GLOW_FORECAST_HORIZON_DAYS",
    "forecast_censored": "GLOW_FORECAST_CENSORED",
    "hot_views_url": "GLOW_HOT_VIEWS_URL",
    "analytics_url": "GLOW_ANALYTICS_URL",
    "master_key": "GLOW_MASTER_KEY",
    "previous_master_keys": "GLOW_PREVIOUS_MASTER_KEYS",
    "jwt_secret": "GLOW_JWT_SECRET",
    "jwt_jwks_url": "GLOW_JWT_JWKS_URL",
    "jwt_issuer": "GLOW_JWT_ISSUER",
    "jwt_audience": "GLOW_JWT_AUDIENCE",
    "broker_url": "GLOW_BROKER_URL",
    "topic_prefix": "GLOW_TOPIC_PREFIX",
    "webhooks": "GLOW_WEBHOOKS",
    "webhook_timeout_seconds": "GLOW_WEBHOOK_TIMEOUT_SECONDS",
    "webhook_max_attempts": "GLOW_WEBHOOK_MAX_ATTEMPTS",
    "webhook_backoff_seconds": "GLOW_WEBHOOK_BACKOFF_SECONDS",
    "webhook_backoff_cap_seconds": "GLOW_WEBHOOK_BACKOFF_CAP_SECONDS",
    "webhook_concurrency": "GLOW_WEBHOOK_CONCURRENCY",
    "webhook_private_hosts": "GLOW_WEBHOOK_PRIVATE_HOSTS",
    "stock_low_units": "GLOW_STOCK_LOW_UNITS",
    "replenishment_service_level": "GLOW_REPLENISHMENT_SERVICE_LEVEL",
    "replenishment_lead_time_days": "GLOW_REPLENISHMENT_LEAD_TIME_DAYS",
    "replenishment_review_days": "GLOW_REPLENISHMENT_REVIEW_DAYS",
    "replenishment_shelf_life_days": "GLOW_REPLENISHMENT_SHELF_LIFE_DAYS",
    "replenishment_transfer_days": "GLOW_REPLENISHMENT_TRANSFER_DAYS",
    "loyalty": "GLOW_LOYALTY",
    "loyalty_points_per_unit": "GLOW_LOYALTY_POINTS_PER_UNIT",
    "loyalty_expiry_days": "GLOW_LOYALTY_EXPIRY_DAYS",
    "loyalty_tiers": "GLOW_LOYALTY_TIERS",
    "feed_interval_seconds": "GLOW_FEED_INTERVAL_SECONDS",
    "metrics_port": "GLOW_METRICS_PORT",
    "metrics_address": "GLOW_METRICS_ADDRESS",
    "tracing": "GLOW_TRACING",
    "trace_sample_ratio": "GLOW_TRACE_SAMPLE_RATIO",
    "retain_command_answers_seconds": "GLOW_RETAIN_COMMAND_ANSWERS",
    "retain_pii_access_log_seconds": "GLOW_RETAIN_PII_ACCESS_LOG",
    "retain_behaviour_data_seconds": "GLOW_RETAIN_BEHAVIOUR_DATA",
    "retain_webhook_deliveries_seconds": "GLOW_RETAIN_WEBHOOK_DELIVERIES",
    "retain_webhook_dead_letters_seconds": "GLOW_RETAIN_WEBHOOK_DEAD_LETTERS",
    "retain_model_artefacts_seconds": "GLOW_RETAIN_MODEL_ARTEFACTS",
    "retain_marketplace_feed_seconds": "GLOW_RETAIN_MARKETPLACE_FEED",
    "retain_survey_deliveries_seconds": "GLOW_RETAIN_SURVEY_DELIVERIES",
    "shutdown_grace_seconds": "GLOW_SHUTDOWN_GRACE_SECONDS",
    "tls_certfile": "GLOW_TLS_CERTFILE",
    "tls_keyfile": "GLOW_TLS_KEYFILE",
    "tls_ca_certs": "GLOW_TLS_CA_CERTS",
    "writer_lock": "GLOW_WRITER_LOCK",
    "writer_lock_retry_seconds": "GLOW_WRITER_LOCK_RETRY_SECONDS",
    "ready_max_behind_events": "GLOW_READY_MAX_BEHIND_EVENTS",
    "writer_listen": "GLOW_WRITER_LISTEN",
    "writer_url": "GLOW_WRITER_URL",
    "writer_secret": "GLOW_WRITER_SECRET",
    "rate_limits": "GLOW_RATE_LIMITS",
    "rate_limit_per_subject": "GLOW_RATE_LIMIT_PER_SUBJECT",
    "rate_limit_per_channel": "GLOW_RATE_LIMIT_PER_CHANNEL",
    "rate_limit_roles": "GLOW_RATE_LIMIT_ROLES",
    "rate_limit_channels": "GLOW_RATE_LIMIT_CHANNELS",
    "rate_limit_storage_url": "GLOW_RATE_LIMIT_STORAGE_URL",
    "log_format": "GLOW_LOG_FORMAT",
    "log_level": "GLOW_LOG_LEVEL",
    "recommender_behaviour_url": "GLOW_RECOMMENDER_BEHAVIOUR_URL",
    "recommender_behaviour_days": "GLOW_RECOMMENDER_BEHAVIOUR_DAYS",
    "recommender_behaviour_max_rows": "GLOW_RECOMMENDER_BEHAVIOUR_MAX_ROWS",
    "model_dir": "GLOW_MODEL_DIR",
    "recommender_update_interactions": "GLOW_RECOMMENDER_UPDATE_INTERACTIONS",
    "recommender_update_seconds": "GLOW_RECOMMENDER_UPDATE_SECONDS",
    "recommender_retrain_hours": "GLOW_RECOMMENDER_RETRAIN_HOURS",
    "survey_webhook_secrets": "GLOW_SURVEY_WEBHOOK_SECRETS",
    "tracking_violations": "GLOW_TRACKING_VIOLATIONS",
    "track_max_anonymous_ids": "GLOW_TRACK_MAX_ANONYMOUS_IDS",
    "track_flush_seconds": "GLOW_TRACK_FLUSH_SECONDS",
    "track_max_batch": "GLOW_TRACK_MAX_BATCH",
    "track_max_body_bytes": "GLOW_TRACK_MAX_BODY_BYTES",
}

LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _operations_settings(env: dict[str, str]) -> dict[str, object]:
    """Rate limits and logs. The limits' notation is checked where they are built (the API's
    rate limiter), which names the variable of a figure it cannot read."""
    log_format = env.get("GLOW_LOG_FORMAT", "json").strip().lower() or "json"
    if log_format not in LOG_FORMATS:
        raise SettingsError(f"GLOW_LOG_FORMAT must be json or text, got {log_format!r}")
    log_level = env.get("GLOW_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise SettingsError(
            f"GLOW_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}"
        )
    defaults = Settings()
    return {
        "rate_limits": env.get("GLOW_RATE_LIMITS", "").lower() in ("1", "true", "yes"),
        "rate_limit_per_subject": env.get("GLOW_RATE_LIMIT_PER_SUBJECT", "")
        or defaults.rate_limit_per_subject,
        "rate_limit_per_channel": env.get("GLOW_RATE_LIMIT_PER_CHANNEL", "")
        or defaults.rate_limit_per_channel,
        "rate_limit_roles": env.get("GLOW_RATE_LIMIT_ROLES", ""),
        "rate_limit_channels": env.get("GLOW_RATE_LIMIT_CHANNELS", ""),
        "rate_limit_storage_url": env.get("GLOW_RATE_LIMIT_STORAGE_URL") or None,
        "log_format": log_format,
        "log_level": log_level,
    }


MAX_BEHAVIOUR_DAYS = 365
MAX_BEHAVIOUR_ROWS = 10_000_000
MAX_UPDATE_INTERACTIONS = 10_000_000


def _recommender_settings(env: dict[str, str]) -> dict[str, object]:
    url = env.get("GLOW_RECOMMENDER_BEHAVIOUR_URL", "").strip()
    if url and not url.startswith(("http://", "https://", "chdb://")):
        raise SettingsError(
            f"GLOW_RECOMMENDER_BEHAVIOUR_URL must be a ClickHouse server (http:// or https://) "
            f"or a chDB path (chdb:///path), got {url!r}"
        )
    days = _int(env, "GLOW_RECOMMENDER_BEHAVIOUR_DAYS", 30)
    if not 0 <= days <= MAX_BEHAVIOUR_DAYS:
        raise SettingsError(
            f"GLOW_RECOMMENDER_BEHAVIOUR_DAYS must be 0 (no behaviour) to {MAX_BEHAVIOUR_DAYS} "
            f"days of recent behaviour, got {days}"
        )
    rows = _int(env, "GLOW_RECOMMENDER_BEHAVIOUR_MAX_ROWS", 200_000)
    if not 1 <= rows <= MAX_BEHAVIOUR_ROWS:
        raise SettingsError(
            f"GLOW_RECOMMENDER_BEHAVIOUR_MAX_ROWS must be 1 to {MAX_BEHAVIOUR_ROWS:,} rows "
            f"(customer x SKU x event) one training reads, got {rows}"
        )
    interactions = _int(env, "GLOW_RECOMMENDER_UPDATE_INTERACTIONS", 1000)
    if not 1 <= interactions <= MAX_UPDATE_INTERACTIONS:
        raise SettingsError(
            f"GLOW_RECOMMENDER_UPDATE_INTERACTIONS must be 1 to {MAX_UPDATE_INTERACTIONS:,} new "
            f"interactions that make a warm update due, got {interactions}"
        )
    seconds = _float(env, "GLOW_RECOMMENDER_UPDATE_SECONDS", 900.0)
    if not 1.0 <= seconds <= 7 * 86_400:
        raise SettingsError(
            "GLOW_RECOMMENDER_UPDATE_SECONDS must be 1 to 604800 seconds after which a warm "
            f"update is due with at least one new interaction, got {seconds:g}"
        )
    hours = _float(env, "GLOW_RECOMMENDER_RETRAIN_HOURS", 24.0)
    if not 0.01 <= hours <= 24 * 90:
        raise SettingsError(
            f"GLOW_RECOMMENDER_RETRAIN_HOURS must be 0.01 to 2160 hours between full retrains, "
            f"got {hours:g}"
        )
    return {
        "recommender_behaviour_url": url or None,
        "recommender_behaviour_days": days,
        "recommender_behaviour_max_rows": rows,
        "model_dir": env.get("GLOW_MODEL_DIR", "").strip() or "var/recommender",
        "recommender_update_interactions": interactions,
        "recommender_update_seconds": seconds,
        "recommender_retrain_hours": hours,
    }


TRACKING_VIOLATION_MODES = ("block", "pass")


def _tracking_settings(env: dict[str, str]) -> dict[str, object]:
    mode = env.get("GLOW_TRACKING_VIOLATIONS", "block").strip().lower() or "block"
    if mode not in TRACKING_VIOLATION_MODES:
        raise SettingsError(f"GLOW_TRACKING_VIOLATIONS must be block or pass, got {mode!r}")
    found: dict[str, object] = {
        "tracking_violations": mode,
        "track_max_anonymous_ids": _int(env, "GLOW_TRACK_MAX_ANONYMOUS_IDS", 50),
        "track_flush_seconds": _float(env, "GLOW_TRACK_FLUSH_SECONDS", 0.15),
        "track_max_batch": _int(env, "GLOW_TRACK_MAX_BATCH", 500),
        "track_max_body_bytes": _int(env, "GLOW_TRACK_MAX_BODY_BYTES", 1024 * 1024),
    }
    for name in ("track_max_anonymous_ids", "track_max_batch", "track_max_body_bytes"):
        if int(str(found[name])) < 1:
            raise SettingsError(f"GLOW_{name.upper()} must be at least 1, got {found[name]}")
    if not 0.01 <= float(str(found["track_flush_seconds"])) <= 5:
        raise SettingsError(
            "GLOW_TRACK_FLUSH_SECONDS must be from 0.01 to 5 (rows are queryable after at "
            f"most this long), got {found['track_flush_seconds']}"
        )
    return found


def _experiment_settings(env: dict[str, str]) -> dict[str, object]:
    refresh = _float(env, "GLOW_EXPERIMENTS_REFRESH_SECONDS", 1.0)
    if not 0 <= refresh <= 60:
        raise SettingsError(
            "GLOW_EXPERIMENTS_REFRESH_SECONDS must be from 0 to 60 (a stopped variant's "
            f"customers get the control within this long), got {refresh}"
        )
    return {"experiments_refresh_seconds": refresh}


MAX_FORECAST_HORIZON_DAYS = 366


def _forecast_settings(env: dict[str, str]) -> dict[str, object]:
    horizon = _int(env, "GLOW_FORECAST_HORIZON_DAYS", 28)
    if not 1 <= horizon <= MAX_FORECAST_HORIZON_DAYS:
        raise SettingsError(
            f"GLOW_FORECAST_HORIZON_DAYS must be 1 to {MAX_FORECAST_HORIZON_DAYS} days "
            f"forecast, got {horizon}"
        )
    raw = env.get("GLOW_FORECAST_CENSORED", "").strip().lower()
    if raw not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
        raise SettingsError(
            f"GLOW_FORECAST_CENSORED must be 1 or 0 (unmet demand corrects the sales a "
            f"forecast learns from, or not), got {raw!r}"
        )
    return {
        "forecast_horizon_days": horizon,
        "forecast_censored": raw not in ("0", "false", "no", "off"),
    }


def _metrics_settings(env: dict[str, str]) -> dict[str, object]:
    raw = env.get("GLOW_METRICS_PORT", "")
    port = _int(env, "GLOW_METRICS_PORT", 0) if raw else None
    if port is not None and not 1 <= port <= 65535:
        raise SettingsError(f"GLOW_METRICS_PORT must be a TCP port from 1 to 65535, got {raw!r}")
    return {
        "metrics_port": port,
        "metrics_address": env.get("GLOW_METRICS_ADDRESS", "") or "0.0.0.0",  # noqa: S104
    }


def _writer_lock_settings(env: dict[str, str]) -> dict[str, object]:
    """GLOW_WRITER_LOCK: on unless 0/false/no (off only for experiments that run two writers
    on one store, as scripts/bench_shards.py does); the retry interval, over zero."""
    retry = _float(env, "GLOW_WRITER_LOCK_RETRY_SECONDS", 2.0)
    if not 0 < retry <= 3600:
        raise SettingsError(
            f"GLOW_WRITER_LOCK_RETRY_SECONDS must be over 0 and at most 3600 seconds, got {retry}"
        )
    return {
        "writer_lock": env.get("GLOW_WRITER_LOCK", "1").lower() not in ("0", "false", "no"),
        "writer_lock_retry_seconds": retry,
        "ready_max_behind_events": _int(env, "GLOW_READY_MAX_BEHIND_EVENTS", 10_000),
    }


MIN_WRITER_SECRET_CHARS = 32


def _shared_writer_settings(env: dict[str, str]) -> dict[str, object]:
    """GLOW_WRITER_URL is checked here (every `glow serve` reads it); GLOW_WRITER_LISTEN and
    the secret by the commands that use them (Settings.writer_listen_address, ...)."""
    url = env.get("GLOW_WRITER_URL", "").strip()
    if url:
        _writer_addresses(url)
    return {
        "writer_listen": env.get("GLOW_WRITER_LISTEN", "").strip() or "127.0.0.1:7070",
        "writer_url": url,
        "writer_secret": env.get("GLOW_WRITER_SECRET", ""),
    }


def _writer_addresses(url: str) -> list[tuple[str, int]]:
    """`tcp://a:7070,b:7070` (or `tcp://a:7070,tcp://b:7070`) -> [(a, 7070), (b, 7070)]."""
    if not url.startswith("tcp://"):
        raise SettingsError(f"GLOW_WRITER_URL must be tcp://host:port[,host:port...], got {url!r}")
    addresses = []
    for part in url.split(","):
        entry = part.strip().removeprefix("tcp://")
        addresses.append(_host_port(entry, "GLOW_WRITER_URL", "tcp://writer:7070"))
    return addresses


def _host_port(raw: str, name: str, example: str) -> tuple[str, int]:
    host, _, port = raw.strip().rpartition(":")
    host = host.strip("[]")  # [::1]:7070
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SettingsError(
            f"{name}: {raw!r} is not host:port with a TCP port from 1 to 65535 (e.g. {example})"
        )
    return host, int(port)


def _webhook_settings(env: dict[str, str]) -> dict[str, object]:
    return {
        "webhook_timeout_seconds": _float(env, "GLOW_WEBHOOK_TIMEOUT_SECONDS", 5.0),
        "webhook_max_attempts": _int(env, "GLOW_WEBHOOK_MAX_ATTEMPTS", 8),
        "webhook_backoff_seconds": _float(env, "GLOW_WEBHOOK_BACKOFF_SECONDS", 1.0),
        "webhook_backoff_cap_seconds": _float(env, "GLOW_WEBHOOK_BACKOFF_CAP_SECONDS", 600.0),
        "webhook_concurrency": _int(env, "GLOW_WEBHOOK_CONCURRENCY", 64),
        "webhook_private_hosts": env.get("GLOW_WEBHOOK_PRIVATE_HOSTS", "").lower()
        in ("1", "true", "yes"),
        "stock_low_units": _int(env, "GLOW_STOCK_LOW_UNITS", 5),
        "feed_interval_seconds": _float(env, "GLOW_FEED_INTERVAL_SECONDS", 5.0),
    }


REPLENISHMENT_RANGES = {  # variable -> (lowest, highest, what it is)
    "GLOW_REPLENISHMENT_LEAD_TIME_DAYS": (0, 365, "days a supplier takes to deliver"),
    "GLOW_REPLENISHMENT_REVIEW_DAYS": (1, 365, "days between replenishment runs"),
    "GLOW_REPLENISHMENT_SHELF_LIFE_DAYS": (1, 3650, "days from receipt to expiry"),
    "GLOW_REPLENISHMENT_TRANSFER_DAYS": (0, 60, "days a transfer between locations takes"),
}


def _replenishment_settings(env: dict[str, str]) -> dict[str, object]:
    level = _float(env, "GLOW_REPLENISHMENT_SERVICE_LEVEL", 0.95)
    if not 0.5 <= level < 1:
        raise SettingsError(
            f"GLOW_REPLENISHMENT_SERVICE_LEVEL must be at least 0.5 and below 1 (the share of "
            f"lead times demand is covered in), got {level}"
        )
    values: dict[str, object] = {"replenishment_service_level": level}
    defaults = {"LEAD_TIME_DAYS": 7, "REVIEW_DAYS": 7, "SHELF_LIFE_DAYS": 365, "TRANSFER_DAYS": 1}
    for suffix, default in defaults.items():
        name = f"GLOW_REPLENISHMENT_{suffix}"
        lowest, highest, what = REPLENISHMENT_RANGES[name]
        value = _int(env, name, default)
        if not lowest <= value <= highest:
            raise SettingsError(f"{name} must be {lowest} to {highest} ({what}), got {value}")
        values[f"replenishment_{suffix.lower()}"] = value
    return values


def _loyalty_settings(env: dict[str, str]) -> dict[str, object]:
    raw = env.get("GLOW_LOYALTY_POINTS_PER_UNIT", "").strip() or "1"
    try:
        per_unit = Decimal(raw)
    except InvalidOperation:
        per_unit = Decimal(-1)
    if not per_unit.is_finite() or not 0 <= per_unit <= 1000:
        raise SettingsError(
            f"GLOW_LOYALTY_POINTS_PER_UNIT must be a number from 0 to 1000 (points per unit of "
            f"currency, e.g. 1 or 0.5), got {raw!r}"
        )
    days = _int(env, "GLOW_LOYALTY_EXPIRY_DAYS", 365)
    if not 1 <= days <= 3650:
        raise SettingsError(
            f"GLOW_LOYALTY_EXPIRY_DAYS must be 1 to 3650 days (how long earned points last), "
            f"got {days}"
        )
    tiers = env.get("GLOW_LOYALTY_TIERS", "").strip() or "silver=500,gold=2000,platinum=5000"
    _loyalty_tiers(tiers)
    return {
        "loyalty_points_per_unit": per_unit,
        "loyalty_expiry_days": days,
        "loyalty_tiers": tiers,
    }


LOYALTY_TIER_NAMES = ("member", "silver", "gold", "platinum")


def _loyalty_tiers(raw: str) -> tuple[tuple[str, int], ...]:
    """`silver=500,gold=2000`: tiers from the points named, above `member` (from 0)."""
    tiers: list[tuple[str, int]] = [("member", 0)]
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, _, points = entry.partition("=")
        name, points = name.strip(), points.strip()
        if name not in LOYALTY_TIER_NAMES[1:] or not points.isdigit():
            raise SettingsError(
                f"GLOW_LOYALTY_TIERS entry {entry!r}: expected TIER=POINTS with TIER one of "
                f"{', '.join(LOYALTY_TIER_NAMES[1:])} (member holds from 0)"
            )
        tiers.append((name, int(points)))
    names = [name for name, _ in tiers]
    thresholds = [points for _, points in tiers]
    if len(set(names)) != len(names) or any(b <= a for a, b in itertools.pairwise(thresholds)):
        raise SettingsError(
            f"GLOW_LOYALTY_TIERS {raw!r}: each tier once, with rising points above 0 "
            "(e.g. silver=500,gold=2000,platinum=5000)"
        )
    return tuple(tiers)


def _loyalty_on(env: dict[str, str], values: dict[str, object]) -> bool:
    """GLOW_LOYALTY if set (1/true/yes, else off); unset: on where the store is PostgreSQL and
    there is no broker (with a broker, the `glow loyalty run` process follows the log)."""
    raw = env.get("GLOW_LOYALTY", "")
    if raw:
        return raw.lower() in ("1", "true", "yes")
    store = str(values["event_store_url"])
    return store.startswith(("postgresql://", "postgres://")) and not values.get("broker_url")


def _tracing_settings(env: dict[str, str]) -> dict[str, object]:
    raw = env.get("GLOW_TRACING", "").strip().lower()
    if raw not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
        raise SettingsError(f"GLOW_TRACING must be 1 or 0 (on or off), got {raw!r}")
    ratio = _float(env, "GLOW_TRACE_SAMPLE_RATIO", 1.0)
    if not 0.0 <= ratio <= 1.0:  # NaN fails this too
        raise SettingsError(
            f"GLOW_TRACE_SAMPLE_RATIO must be a fraction from 0 to 1 (of the traces kept), "
            f"got {ratio!r}"
        )
    return {"tracing": raw in ("1", "true", "yes", "on"), "trace_sample_ratio": ratio}


MAX_RETENTION_SECONDS = 100 * 365 * DAY
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY, "y": 365 * DAY}


def _retention_settings(env: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for entry in fields(Settings):
        if entry.name.startswith("retain_"):
            default = entry.default
            assert isinstance(default, int)
            values[entry.name] = _duration(env, VARIABLES[entry.name], default)
    answers = values["retain_command_answers_seconds"]
    if isinstance(answers, int) and answers < IDEMPOTENCY_RETRY_WINDOW_SECONDS:
        raise SettingsError(
            f"GLOW_RETAIN_COMMAND_ANSWERS is {answers // DAY} day(s), shorter than the "
            f"{IDEMPOTENCY_RETRY_WINDOW_SECONDS // DAY} days channels are told they may retry "
            "a command with the same Idempotency-Key: deleting an answer re-opens its key, so a "
            "late retry would apply the command twice; set it to 30d or more"
        )
    return values


def _duration(env: dict[str, str], name: str, default: int) -> int:
    """`30d`, `12h`, `6y` (365 days), `2w`, `90m`, `45s`, or a bare number of seconds."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    number, unit = (raw[:-1], raw[-1]) if raw[-1] in DURATION_UNITS else (raw, "s")
    seconds = int(number) * DURATION_UNITS[unit] if re.fullmatch("[0-9]{1,12}", number) else 0
    if not 0 < seconds <= MAX_RETENTION_SECONDS:
        raise SettingsError(
            f"{name} must be a positive duration of at most 100 years, such as 30d, 12h, "
            f"6y (365 days), 2w, 90m or a number of seconds; got {raw!r}"
        )
    return seconds


def _serving_settings(env: dict[str, str]) -> dict[str, object]:
    grace = _float(env, "GLOW_SHUTDOWN_GRACE_SECONDS", 25.0)
    if not 1.0 <= grace <= 3600.0:
        raise SettingsError(
            f"GLOW_SHUTDOWN_GRACE_SECONDS must be 1 to 3600 seconds, got {grace:g}: the time "
            "`glow serve` may take from SIGTERM to exit (keep it under the orchestrator's "
            "grace, e.g. Kubernetes' terminationGracePeriodSeconds)"
        )
    return {
        "shutdown_grace_seconds": grace,
        "tls_certfile": env.get("GLOW_TLS_CERTFILE", ""),
        "tls_keyfile": env.get("GLOW_TLS_KEYFILE", ""),
        "tls_ca_certs": env.get("GLOW_TLS_CA_CERTS", ""),
    }


def _webhooks_on(env: dict[str, str], values: dict[str, object]) -> bool:
    """GLOW_WEBHOOKS if set (1/true/yes, else off); unset: on where the store is PostgreSQL
    and there is no broker (with a broker, the `glow webhooks` process delivers)."""
    raw = env.get("GLOW_WEBHOOKS", "")
    if raw:
        return raw.lower() in ("1", "true", "yes")
    store = str(values["event_store_url"])
    return store.startswith(("postgresql://", "postgres://")) and not values.get("broker_url")


def eventsourcing_env(url: str) -> dict[str, str]:
    """Translate an event-store URL into eventsourcing's environment settings."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.path.strip("/"):
            raise SettingsError(f"event store URL {url!r} names no database; expected .../dbname")
        return {
            # eventsourcing's factory, which also passes the URL's query (sslmode,
            # sslrootcert, ...) to libpq as psycopg does with the URL itself
            "PERSISTENCE_MODULE": "storage.postgres_factory:LedgerPostgresFactory",
            "POSTGRES_LIBPQ_PARAMS": parts.query,
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": "8",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "CREATE_TABLE": "n",
            "APPLICATION_RECORDER_TOPIC": "storage.recorders:LedgerPostgresRecorder",
        }
    if parts.scheme == "sqlite":
        # As SQLAlchemy spells it: sqlite:///relative/path, sqlite:////absolute/path.
        path = unquote(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else ""
        if not path:
            raise SettingsError(f"event store URL {url!r} names no file; expected sqlite:///path")
        if path != ":memory:":
            ensure_parent(path, "GLOW_EVENT_STORE_URL")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": "y",
            "APPLICATION_RECORDER_TOPIC": "storage.recorders:LedgerSQLiteRecorder",
        }
    raise SettingsError(
        f"unsupported event store URL {url!r}; expected postgresql://user@host:port/db "
        "or sqlite:///path/to/file"
    )


def without_password(url: str) -> str:
    """`url` as it may be shown in a message or a log: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}").geturl()


def postgres_conninfo(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _writer_process(env: dict[str, str], store_url: str) -> bool:
    """GLOW_WRITER_PROCESS if set (1/true/yes, else off); unset: on where the store is
    PostgreSQL, whose writer then never waits for the HTTP side's interpreter lock. SQLite
    (the embedded default) always keeps the writer in-process."""
    raw = env.get("GLOW_WRITER_PROCESS", "")
    if raw:
        return raw.lower() in ("1", "true", "yes")
    return store_url.startswith(("postgresql://", "postgres://"))


SURVEY_SOURCE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MIN_SURVEY_SECRET_BYTES = 24


def survey_sources(raw: str) -> dict[str, str]:
    """`typeform:whsec_...,polls:whsec_...` -> {source: secret}; an error names the entry by
    its position and source, never the secret."""
    sources: dict[str, str] = {}
    for number, entry in enumerate(filter(None, (e.strip() for e in raw.split(","))), start=1):
        name, _, secret = entry.partition(":")
        problem = _survey_source_problem(name.strip(), secret.strip(), sources)
        if problem:
            raise SettingsError(
                f"GLOW_SURVEY_WEBHOOK_SECRETS entry {number}: {problem}; expected "
                "SOURCE:whsec_<base64 of at least 24 random bytes>, entries joined by ','"
            )
        sources[name.strip()] = secret.strip()
    return sources


def _survey_source_problem(name: str, secret: str, known: dict[str, str]) -> str:
    if not SURVEY_SOURCE.match(name):
        return "the source must be 1 to 40 lower-case letters, digits and hyphens"
    if name in known:
        return f"source {name!r} is named twice"
    if not secret.startswith("whsec_"):
        return f"the secret of {name!r} must start with whsec_"
    try:
        decoded = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        return f"the secret of {name!r} is not base64 after whsec_"
    if len(decoded) < MIN_SURVEY_SECRET_BYTES:
        return f"the secret of {name!r} is shorter than {MIN_SURVEY_SECRET_BYTES} bytes"
    return ""


def _backdating(raw: str) -> dict[str, int]:
    """`pos=604800,web=900`: the defaults, with the entries given replaced."""
    limits = dict(DEFAULT_BACKDATING_SECONDS)
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, _, seconds = entry.partition("=")
        if name.strip() not in limits or not seconds.strip().isdigit():
            raise SettingsError(
                f"GLOW_BACKDATING_SECONDS entry {entry!r}: expected NAME=SECONDS with NAME one "
                f"of {', '.join(limits)}"
            )
        limits[name.strip()] = min(int(seconds), MAX_BACKDATING_SECONDS)
    return limits


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
