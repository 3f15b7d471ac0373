"""A forgotten customer leaves the experiments' tables: `experiment_people` gives the pseudonym
their exposure rows carry, then those rows and the link itself are deleted (mutations waited
for, the ids passed through a Memory table so that no mutation's record names anyone, as
projections/behaviour_erasure.py does). Their assignment events in PostgreSQL are keyed by the
same pseudonym, which nobody can compute again once their key is shredded. Idempotent: a
customer without a link finds nothing. Tables not migrated yet are passed by."""

from __future__ import annotations

import secrets
from typing import Any

from projections.behaviour_erasure import delete_rows, table_exists

EXPOSURES, PEOPLE = "experiment_exposures", "experiment_people"


def erase_experiments(client: Any, customer_id: str) -> list[str]:
    """Delete the customer's exposure rows and link; returns the tables mutated."""
    if not table_exists(client, PEOPLE):
        return []
    linked = client.query(
        f"SELECT count() FROM {PEOPLE} WHERE customer_id = {{c:String}}",  # noqa: S608
        parameters={"c": customer_id},
    ).result_rows[0][0]
    if not linked:
        return []
    erasing = f"glow_erasing_{secrets.token_hex(6)}"
    client.command(f"CREATE TABLE {erasing} (customer_id String, person String) ENGINE = Memory")
    try:
        client.command(
            f"INSERT INTO {erasing} SELECT customer_id, person FROM {PEOPLE}"  # noqa: S608
            " WHERE customer_id = {c:String}",
            parameters={"c": customer_id},
        )
        mutated = []
        if table_exists(client, EXPOSURES):
            where = f"person IN (SELECT person FROM {erasing})"  # noqa: S608 - our own names
            mutated.append(delete_rows(client, EXPOSURES, where))
        where = f"customer_id IN (SELECT customer_id FROM {erasing})"  # noqa: S608
        mutated.append(delete_rows(client, PEOPLE, where))
    finally:
        client.command(f"DROP TABLE IF EXISTS {erasing} SYNC")
    return mutated
