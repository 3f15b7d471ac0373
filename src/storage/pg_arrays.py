"""One-dimensional PostgreSQL arrays in the binary wire format, built directly.

psycopg dumps a Python list by first scanning it for its element type and then dumping
element by element; for the writer's eight arrays per commit group that cost more CPU than the
rest of the round trip. These functions build the same bytes PostgreSQL's array_recv reads
(header: dimensions, null flag, element type, length, lower bound; then length-prefixed
elements) in one join, and `Prebuilt` sends them as a parameter of unspecified type, which the
statement's cast (`%b::uuid[]`) types on the server.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from uuid import UUID

from psycopg import adapters
from psycopg.adapt import Buffer, Dumper
from psycopg.pq import Format

UUID_OID, INT8_OID, INT4_OID, TEXT_OID, BYTEA_OID = 2950, 20, 23, 25, 17

_HEADER = struct.Struct(">iiIii")
_EMPTY = struct.Struct(">iiI")
_LENGTH = struct.Struct(">i").pack
_INT8 = struct.Struct(">iq").pack
_INT4 = struct.Struct(">ii").pack
_UUID_LENGTH = _LENGTH(16)


class Prebuilt(bytes):
    """A parameter already in PostgreSQL's binary format; its type comes from the SQL cast."""


class PrebuiltDumper(Dumper):
    format = Format.BINARY
    oid = 0  # unspecified: the server takes the type from the statement's cast

    def dump(self, obj: Prebuilt) -> Buffer:
        return obj


adapters.register_dumper(Prebuilt, PrebuiltDumper)


def _array(oid: int, count: int, elements: bytes) -> Prebuilt:
    if not count:
        return Prebuilt(_EMPTY.pack(0, 0, oid))
    return Prebuilt(_HEADER.pack(1, 0, oid, count, 1) + elements)


def uuid_array(values: Sequence[UUID | str]) -> Prebuilt:
    return _array(
        UUID_OID,
        len(values),
        b"".join([_UUID_LENGTH + (v if type(v) is UUID else UUID(str(v))).bytes for v in values]),
    )


def int4(value: int) -> Prebuilt:
    """A single int4 in the binary format."""
    return Prebuilt(_INT4(4, value)[4:])


def int8_array(values: Sequence[int]) -> Prebuilt:
    return _array(INT8_OID, len(values), b"".join([_INT8(8, v) for v in values]))


def int4_array(values: Sequence[int]) -> Prebuilt:
    return _array(INT4_OID, len(values), b"".join([_INT4(4, v) for v in values]))


def text_array(values: Sequence[str]) -> Prebuilt:
    encoded = [v.encode() for v in values]
    return _array(TEXT_OID, len(values), b"".join([_LENGTH(len(e)) + e for e in encoded]))


def bytea_array(values: Sequence[bytes]) -> Prebuilt:
    return _array(BYTEA_OID, len(values), b"".join([_LENGTH(len(v)) + v for v in values]))
