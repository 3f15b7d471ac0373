"""Builds the customer ledger from settings: its event store, its key vault, its master keys.

PostgreSQL: tables `customers_events` and `customer_keys` (migration 0004) in the same database
as the inventory. SQLite (embedded): a file of its own beside the inventory's, because
eventsourcing's SQLite recorder names its table the same for every application.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import Mapper

from configuration.settings import (
    Settings,
    SettingsError,
    development_secret,
    eventsourcing_env,
    postgres_conninfo,
)
from domain.customer_ledger import CustomerLedger
from domain.ledger import InventoryLedger
from privacy.access_log import AccessLog, PostgresAccessLog, SqliteAccessLog
from privacy.key_stores import KeyStore, PostgresKeyStore, SqliteKeyStore
from privacy.master_keys import MasterKeyError, MasterKeys
from privacy.sealing import PersonalDataMapper
from privacy.vault import KeyVault
from service_layer.purchase_index import PurchaseIndex
from storage.purchase_index_stores import PostgresPurchaseIndex, SqlitePurchaseIndex
from storage.survey_tallies import PostgresSurveyTallies, SqliteSurveyTallies, SurveyTallies

DEV_MASTER_KEY_FILE = "glow-master.key"


class SealedCustomerLedger(CustomerLedger):
    """The customer ledger whose mapper seals personal data with each customer's key."""

    name = "customers"

    def __init__(self, vault: KeyVault, env: dict[str, str]) -> None:
        self.vault = vault
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        return PersonalDataMapper(self.construct_transcoder(), self.vault)


def customer_store_env(settings: Settings) -> dict[str, str]:
    env = eventsourcing_env(settings.event_store_url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite" and env["SQLITE_DBNAME"] != ":memory:":
        path = Path(env["SQLITE_DBNAME"])
        env["SQLITE_DBNAME"] = str(path.with_name(f"{path.stem}.customers{path.suffix}"))
    return env


def open_customer_log(settings: Settings, connections: int | None = None) -> CustomerLedger:
    """The customer ledger for reading its log alone (the relay, the worker's retries): its
    plain mapper leaves `personal` sealed, which no published envelope carries anyway, so no
    key is needed."""
    env = customer_store_env(settings)
    if connections is not None and "POSTGRES_POOL_SIZE" in env:
        env.update(POSTGRES_POOL_SIZE=str(connections), POSTGRES_MAX_OVERFLOW="0")
    return CustomerLedger(env=env)


def master_keys(settings: Settings) -> MasterKeys:
    """From GLOW_MASTER_KEY; the embedded SQLite mode makes a development key file if unset."""
    text = settings.master_key
    if not text:
        if settings.is_postgres():
            raise SettingsError(
                "GLOW_MASTER_KEY is not set: the customer ledger needs a master key "
                "(base64 of 32 random bytes; `glow keys generate` prints one)"
            )
        text = _dev_master_key(settings)
    try:
        return MasterKeys.from_text(text, settings.previous_master_keys)
    except MasterKeyError as error:
        raise SettingsError(f"GLOW_MASTER_KEY / GLOW_PREVIOUS_MASTER_KEYS: {error}") from None


def key_store(settings: Settings) -> KeyStore:
    if settings.is_postgres():
        return PostgresKeyStore(postgres_conninfo(settings.event_store_url))
    return SqliteKeyStore(customer_store_env(settings)["SQLITE_DBNAME"])


def open_customer_ledger(
    settings: Settings, connections: int | None = None
) -> SealedCustomerLedger:
    """The sealed customer ledger; `connections` bounds its PostgreSQL pool for a process that
    reads the log in one thread (a follower), so that a cluster of such processes stays well
    inside the server's connection limit."""
    vault = KeyVault(key_store(settings), master_keys(settings))
    env = customer_store_env(settings)
    if connections is not None and "POSTGRES_POOL_SIZE" in env:
        env.update(POSTGRES_POOL_SIZE=str(connections), POSTGRES_MAX_OVERFLOW="0")
    return SealedCustomerLedger(vault, env)


def open_access_log(ledger: SealedCustomerLedger, settings: Settings) -> AccessLog:
    store = ledger.vault.store
    if isinstance(store, PostgresKeyStore):
        return PostgresAccessLog(store.pool)
    return SqliteAccessLog(customer_store_env(settings)["SQLITE_DBNAME"])


def open_survey_tallies(ledger: SealedCustomerLedger, settings: Settings) -> SurveyTallies:
    """Counts of anonymous survey answers, beside the access log."""
    store = ledger.vault.store
    if isinstance(store, PostgresKeyStore):
        return PostgresSurveyTallies(store.pool)
    return SqliteSurveyTallies(customer_store_env(settings)["SQLITE_DBNAME"])


def open_purchase_index(
    ledger: InventoryLedger, customers: SealedCustomerLedger, settings: Settings
) -> PurchaseIndex:
    store = customers.vault.store
    if isinstance(store, PostgresKeyStore):
        return PurchaseIndex(ledger, PostgresPurchaseIndex(store.pool))
    return PurchaseIndex(ledger, SqlitePurchaseIndex(customer_store_env(settings)["SQLITE_DBNAME"]))


def close_customer_ledger(ledger: SealedCustomerLedger) -> None:
    store = ledger.vault.store
    if isinstance(store, PostgresKeyStore):
        store.close()
    ledger.close()


def _dev_master_key(settings: Settings) -> str:
    path = Path(customer_store_env(settings)["SQLITE_DBNAME"]).with_name(DEV_MASTER_KEY_FILE)
    return development_secret(path, MasterKeys.generate)
