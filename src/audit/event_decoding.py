"""Decoding stored events for auditors' reads with orjson instead of the standard json module.

The library's JSON transcoder decodes with json and an object hook per dict; replaying a long
history spends most of its time there. This mapper parses with orjson and then applies the same
transcodings bottom-up, so it yields exactly the events the ledger's own mapper yields (a unit
test compares them). It only reads: the ledger writes with its own mapper, unchanged.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper

from domain.ledger import InventoryLedger

_MAPPERS: WeakKeyDictionary[InventoryLedger, Mapper[Any]] = WeakKeyDictionary()


class OrjsonDecoding(JSONTranscoder):
    def decode(self, data: bytes) -> Any:
        return self._revive(orjson.loads(data))

    def _revive(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            for key, inner in value.items():
                if type(inner) is dict or type(inner) is list:
                    value[key] = self._revive(inner)
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self._decode_obj(value)
            return value
        if kind is list:
            return [self._revive(v) if type(v) is dict or type(v) is list else v for v in value]
        return value


def reading_mapper(ledger: InventoryLedger) -> Mapper[Any]:
    """A mapper for `ledger`'s stored events (same transcodings, compressor and cipher)."""
    mapper = _MAPPERS.get(ledger)
    if mapper is None:
        transcoder = OrjsonDecoding()
        ledger.register_transcodings(transcoder)
        own = ledger.mapper
        mapper = Mapper(transcoder=transcoder, compressor=own.compressor, cipher=own.cipher)
        _MAPPERS[ledger] = mapper
    return mapper
