"""Forget on the embedded store, through the running server: afterwards no file under the data
folder holds the customer's wrapped key, their data key or any of their personal data, so the
master key file lying in the same folder opens nothing (the WAL used to keep the key)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from configuration.settings import Settings
from tests.e2e.ledger_server import RunningLedger, auth_headers, ok, serve

EMAIL, PHONE = "ottiline.brzezinska@example.net", "+33 6 47 19 02 83"
SECRETS = [
    "Ottiline Brzezinska",
    EMAIL,
    "+33647190283",
    "1979-08-14",
    "23 allee Wenceslas-Orzel",
    "METHYLCHLOROISOTHIAZOLINONE",
    "burned-kv4 like nettles",
]


def send(server: RunningLedger, path: str, body: dict[str, Any], **who: Any) -> dict[str, Any]:
    role = who.pop("role", "admin")
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Channel": "web"}
    response = httpx.post(
        server.base_url + path, json=body, headers={**headers, **auth_headers(role, **who)}
    )
    return ok(response)


def everything_under(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def customer_with_everything(server: RunningLedger) -> str:
    contact = {
        "name": SECRETS[0],
        "email": EMAIL,
        "phone": PHONE,
        "date_of_birth": SECRETS[3],
        "address": {"line1": SECRETS[4], "city": "Rennes", "postcode": "35000"},
    }
    customer_id = str(
        send(server, "/customers", contact, role="channel", channel="web")["customer_id"]
    )
    me = {"role": "customer", "customer_id": customer_id}
    send(server, f"/customers/{customer_id}/skin-profile", {"allergies": [SECRETS[5]]}, **me)
    feedback = {"sku": "SERUM-9", "rating": 1, "comment": SECRETS[6]}
    send(server, f"/customers/{customer_id}/feedback", feedback, **me)
    return customer_id


def test_after_forget_no_file_of_the_embedded_store_holds_the_key_or_the_personal_data(
    tmp_path: Path,
) -> None:
    data = tmp_path / "var"
    with serve(Settings(event_store_url=f"sqlite:///{data}/ledger.sqlite")) as server:
        customer_id = customer_with_everything(server)
        vault = server.runtime.customers.ledger.vault
        wrapped = vault.store.get(uuid.UUID(customer_id))
        data_key = vault.data_key(uuid.UUID(customer_id))
        assert wrapped is not None and data_key is not None
        assert wrapped[1] in everything_under(data)  # the search does see the key before

        send(
            server, f"/customers/{customer_id}/forget", {}, role="customer", customer_id=customer_id
        )

        stored = everything_under(data)  # the server still runs, its connections open
        assert wrapped[1] not in stored
        assert data_key not in stored
        assert [secret for secret in SECRETS if secret.encode() in stored] == []
