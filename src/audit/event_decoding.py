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
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper

_CONTAINERS = (dict, list)
_MAPPERS: WeakKeyDictionary[Application[Any], Mapper[Any]] = WeakKeyDictionary()


class OrjsonDecoding(JSONTranscoder):
    def decode(self, data: bytes) -> Any:
        value = orjson.loads(data)
        return self._revive_dict(value) if type(value) is dict else self._revive(value)

    def _revive(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return self._revive_dict(value)
        if kind is list:
            return [self._revive(v) if type(v) in _CONTAINERS else v for v in value]
        return value

    def _revive_dict(self, value: dict[str, Any]) -> Any:
        # Tagged values ({"_type_": name, "_data_": data}) are decoded by their transcoding
        # directly; the library's _decode_obj re-checks every key, which showed in profiles.
        for key, inner in value.items():
            if type(inner) in _CONTAINERS:
                value[key] = self._revive(inner)
        if len(value) == 2:
            name = value.get("_type_")
            if name is not None and "_data_" in value:
                transcoding = self.names.get(name)
                if transcoding is not None:
                    return transcoding.decode(value["_data_"])
                return self._decode_obj(value)  # the library's error for an unknown name
        return value


def reading_mapper(ledger: Application[Any]) -> Mapper[Any]:
    """A mapper for `ledger`'s stored events (same transcodings, compressor and cipher).

    Only for applications with eventsourcing's plain Mapper: a custom one (the customer
    ledger's, which unseals personal data) is returned unchanged."""
    if type(ledger.mapper) is not Mapper:
        return ledger.mapper
    mapper = _MAPPERS.get(ledger)
    if mapper is None:
        transcoder = OrjsonDecoding()
        ledger.register_transcodings(transcoder)
        own = ledger.mapper
        mapper = Mapper(transcoder=transcoder, compressor=own.compressor, cipher=own.cipher)
        _MAPPERS[ledger] = mapper
    return mapper
