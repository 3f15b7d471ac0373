"""The links of the hash chain, computed over the bytes exactly as stored.

canonical row = notification_id (8 bytes, big-endian, signed) || originator_id (16 bytes)
             || originator_version (8 bytes) || len(topic) (4 bytes) || topic (UTF-8)
             || len(state) (4 bytes) || state (the stored bytes, encrypted or not)
link(n) = sha256(link(previous) || canonical row); the link before the first is 32 zero bytes.
Hashing stored bytes means a customer's deleted key never breaks verification.
"""

from __future__ import annotations

import hashlib
import struct

GENESIS = bytes(32)
_HEADER = struct.Struct(">q16sqI")
_LENGTH = struct.Struct(">I")

# The stored rows as the chain reads them: uuid and topic as raw bytes, straight from PostgreSQL.
_COLUMNS = (
    "SELECT notification_id, uuid_send(originator_id), originator_version, "
    "convert_to(coalesce(topic, ''), 'UTF8'), coalesce(state, ''::bytea) FROM inventory_events "
)
STORED_ROWS_AFTER = _COLUMNS + "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
STORED_ROWS_UP_TO = _COLUMNS + "WHERE notification_id <= %s ORDER BY notification_id"


def next_link(
    previous: bytes,
    notification_id: int,
    originator_id: bytes,
    originator_version: int,
    topic: bytes,
    state: bytes,
) -> bytes:
    header = _HEADER.pack(notification_id, originator_id, originator_version, len(topic))
    return hashlib.sha256(
        b"".join((previous, header, topic, _LENGTH.pack(len(state)), state))
    ).digest()
