"""A forgotten customer's behaviour rows leave ClickHouse: `behaviour_people` links their
customer id to their behaviour pseudonym (`person`), through which their rows in
`behaviour_events` (their own, and those of the anonymous sessions stitched to them) and
`behaviour_identities` are found; then the link itself goes. Anonymous
aggregates (`behaviour_aggregates`) name nobody and stay.

The deletes are mutations that rewrite the parts (`ALTER TABLE ... DELETE`, waited for with
`mutations_sync`), not lightweight deletes, which only mask rows that stay in the parts until
a merge. The parts a mutation replaces stay on disk, inactive, until the table's
`old_parts_lifetime` has passed and the cleanup comes by; the tables that can name a customer
are set short by the eraser (MODIFY SETTING). Measured on chDB inside a `glow serve`: the
bytes leave the folder within about 40 s (the cleanup's first round at its old period; the
same settings given at CREATE TABLE were slower there, though a lone process saw about a
second). The ids to
delete go through a Memory table, so that the mutation's own record names no one.
Idempotent: a customer without a link finds no rows. Tables that do not exist (the behaviour
migration not applied) are passed by."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EVENTS, IDENTITIES, PEOPLE = "behaviour_events", "behaviour_identities", "behaviour_people"
# Replaced parts and finished mutations leave the disk within a minute, not eight.
CLEANUP = (
    "old_parts_lifetime = 1, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0,"
    " finished_mutations_to_keep = 0, merge_tree_clear_old_parts_interval_seconds = 1"
)
SYNC = {"mutations_sync": 2}  # wait for the mutation on every replica


def erase_behaviour(client: Any, customer_id: str) -> list[str]:
    """Delete the customer's behaviour rows and link; returns the tables mutated."""
    with linked_people(client, PEOPLE, customer_id) as erasing:
        if erasing is None:
            return []
        by_person = f"person IN (SELECT person FROM {erasing})"  # noqa: S608 - our own names
        by_customer = f"customer_id IN (SELECT customer_id FROM {erasing})"  # noqa: S608
        mutated = []
        if table_exists(client, EVENTS):  # their rows, and the rows of sessions stitched to them
            stitched = ""
            if table_exists(client, IDENTITIES):
                stitched = (
                    f" OR (anonymous_id != '' AND anonymous_id IN (SELECT anonymous_id"  # noqa: S608
                    f" FROM {IDENTITIES} WHERE {by_person}))"
                )
            mutated.append(delete_rows(client, EVENTS, by_person + stitched))
        if table_exists(client, IDENTITIES):
            mutated.append(delete_rows(client, IDENTITIES, by_person))
        mutated.append(delete_rows(client, PEOPLE, by_customer))
        return mutated


@contextmanager
def linked_people(client: Any, people: str, customer_id: str) -> Iterator[str | None]:
    """The customer's rows of a `people` link table (customer_id -> person) copied into a
    Memory table, whose name is given (so that no mutation's record names anyone); None when
    the table does not exist or holds no link of theirs. The copy is dropped afterwards."""
    if not table_exists(client, people):
        yield None
        return
    linked = client.query(
        f"SELECT count() FROM {people} WHERE customer_id = {{c:String}}",  # noqa: S608
        parameters={"c": customer_id},
    ).result_rows[0][0]
    if not linked:
        yield None
        return
    erasing = f"glow_erasing_{secrets.token_hex(6)}"
    client.command(f"CREATE TABLE {erasing} (customer_id String, person String) ENGINE = Memory")
    try:
        client.command(
            f"INSERT INTO {erasing} SELECT customer_id, person FROM {people}"  # noqa: S608
            " WHERE customer_id = {c:String}",
            parameters={"c": customer_id},
        )
        yield erasing
    finally:
        client.command(f"DROP TABLE IF EXISTS {erasing} SYNC")


def delete_rows(client: Any, table: str, where: str) -> str:
    """A mutation waited for (the rows are out of the table's active parts on return)."""
    client.command(f"ALTER TABLE {table} MODIFY SETTING {CLEANUP}")
    client.command(f"ALTER TABLE {table} DELETE WHERE {where}", settings=SYNC)
    return table


def table_exists(client: Any, table: str) -> bool:
    return bool(client.command(f"EXISTS TABLE {table}"))
