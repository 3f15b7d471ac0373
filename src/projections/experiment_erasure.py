"""A forgotten customer leaves the experiments' tables: `experiment_people` gives the pseudonym
their exposure rows carry, then those rows and the link itself are deleted (mutations waited
for, the ids passed through a Memory table so that no mutation's record names anyone, as
projections/behaviour_erasure.py does). Their assignment events in PostgreSQL are keyed by the
same pseudonym, which nobody can compute again once their key is shredded. Idempotent: a
customer without a link finds nothing. Tables not migrated yet are passed by."""

from __future__ import annotations

from typing import Any

from projections.behaviour_erasure import delete_rows, linked_people, table_exists

EXPOSURES, PEOPLE = "experiment_exposures", "experiment_people"


def erase_experiments(client: Any, customer_id: str) -> list[str]:
    """Delete the customer's exposure rows and link; returns the tables mutated."""
    with linked_people(client, PEOPLE, customer_id) as erasing:
        if erasing is None:
            return []
        mutated = []
        if table_exists(client, EXPOSURES):
            where = f"person IN (SELECT person FROM {erasing})"  # noqa: S608 - our own names
            mutated.append(delete_rows(client, EXPOSURES, where))
        where = f"customer_id IN (SELECT customer_id FROM {erasing})"  # noqa: S608
        mutated.append(delete_rows(client, PEOPLE, where))
        return mutated
