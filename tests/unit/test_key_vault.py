"""Data keys are wrapped by the master key, survive its rotation, and die with their row."""

from __future__ import annotations

import uuid

import pytest

from privacy.key_stores import MemoryKeyStore
from privacy.master_keys import MasterKeyError, MasterKeys
from privacy.vault import LEDGER_SECRET_ID, KeyVault

OLD, NEW = MasterKeys.generate(), MasterKeys.generate()


def test_a_data_key_is_made_once_and_stored_only_wrapped() -> None:
    vault = KeyVault(MemoryKeyStore(), MasterKeys.from_text(OLD))
    customer = uuid.uuid4()
    key = vault.data_key_for_writing(customer)
    assert vault.data_key_for_writing(customer) == key == vault.data_key(customer)
    assert key not in vault.store.get(customer)[1]  # type: ignore[index]


def test_rotation_rewraps_every_key_so_the_old_master_can_be_dropped() -> None:
    store = MemoryKeyStore()
    customers = [uuid.uuid4() for _ in range(3)]
    old_vault = KeyVault(store, MasterKeys.from_text(OLD))
    keys = [old_vault.data_key_for_writing(customer) for customer in customers]

    rotating = KeyVault(store, MasterKeys.from_text(NEW, previous=OLD))
    assert rotating.rotate() == 3
    assert rotating.rotate() == 0

    new_only = KeyVault(store, MasterKeys.from_text(NEW))
    assert [new_only.data_key(customer) for customer in customers] == keys


def test_a_key_under_an_unconfigured_master_is_a_clear_error() -> None:
    store = MemoryKeyStore()
    customer = uuid.uuid4()
    KeyVault(store, MasterKeys.from_text(OLD)).data_key_for_writing(customer)
    with pytest.raises(MasterKeyError, match="GLOW_PREVIOUS_MASTER_KEYS"):
        KeyVault(store, MasterKeys.from_text(NEW)).data_key(customer)


def test_a_wrapped_key_moved_to_another_customer_does_not_open() -> None:
    store = MemoryKeyStore()
    vault = KeyVault(store, MasterKeys.from_text(OLD))
    alice, mallory = uuid.uuid4(), uuid.uuid4()
    vault.data_key_for_writing(alice)
    store.rows[mallory] = store.rows[alice]
    with pytest.raises(MasterKeyError):
        vault.data_key(mallory)


def test_a_destroyed_key_is_gone() -> None:
    vault = KeyVault(MemoryKeyStore(), MasterKeys.from_text(OLD))
    customer = uuid.uuid4()
    vault.data_key_for_writing(customer)
    vault.destroy(customer)
    assert vault.data_key(customer) is None


@pytest.mark.parametrize("text", ["", "not base64!", "c2hvcnQ="])
def test_a_malformed_master_key_is_refused(text: str) -> None:
    with pytest.raises(MasterKeyError):
        MasterKeys.from_text(text)


def test_the_ledger_secret_is_made_once_survives_rotation_and_is_never_destroyed() -> None:
    store = MemoryKeyStore()
    secret = KeyVault(store, MasterKeys.from_text(OLD)).ledger_secret()
    rotating = KeyVault(store, MasterKeys.from_text(NEW, previous=OLD))
    assert rotating.rotate() == 1
    assert KeyVault(store, MasterKeys.from_text(NEW)).ledger_secret() == secret
    with pytest.raises(ValueError, match="never destroyed"):
        rotating.destroy(LEDGER_SECRET_ID)
    assert store.get(LEDGER_SECRET_ID) is not None
