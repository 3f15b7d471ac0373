"""Decoding stored events for auditors' reads with orjson instead of the standard json module.

The library's JSON transcoder decodes with json and an object hook per dict; replaying a long
history spends most of its time there. This mapper parses with orjson and then applies the same
transcodings bottom-up, so it yields exactly the events the ledger's own mapper yields (a unit
test compares them). It only reads: the ledger writes with its own mapper, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper, Transcoding

_MAPPERS: WeakKeyDictionary[Application[Any], Mapper[Any]] = WeakKeyDictionary()


class OrjsonDecoding(JSONTranscoder):
    def decode(self, data: bytes) -> Any:
        value = orjson.loads(data)
        kind = type(value)
        if kind is dict:
            return self._reviver()[0](value)
        if kind is list:
            return self._reviver()[1](value)
        return value

    def _reviver(self) -> tuple[Callable[[dict[str, Any]], Any], Callable[[list[Any]], Any]]:
        """Two closures over the transcodings, built once: a replay calls them for every
        dict of every event (seven per sale), where method calls through self showed."""
        revivers = self.__dict__.get("_revivers")
        if revivers is None:
            revivers = self.__dict__["_revivers"] = _revivers(self.names.get, self._decode_obj)
        return revivers


def _revivers(
    transcoding_named: Callable[[str], Transcoding | None],
    unknown: Callable[[dict[str, Any]], Any],
) -> tuple[Callable[[dict[str, Any]], Any], Callable[[list[Any]], Any]]:
    def revive_dict(value: dict[str, Any]) -> Any:
        # Tagged values ({"_type_": name, "_data_": data}) are decoded by their transcoding
        # directly, their data revived first, as the library's object hook does bottom-up.
        # A tag inside is decoded here, in the parent's loop, without a call of its own.
        for key, inner in value.items():
            kind = type(inner)
            if kind is dict:
                if len(inner) == 2 and "_data_" in inner and type(inner.get("_type_")) is str:
                    transcoding = transcoding_named(inner["_type_"])
                    if transcoding is not None:
                        data = inner["_data_"]
                        data_kind = type(data)
                        if data_kind is dict:
                            data = revive_dict(data)
                        elif data_kind is list:
                            data = revive_list(data)
                        value[key] = transcoding.decode(data)
                        continue
                value[key] = revive_dict(inner)
            elif kind is list:
                value[key] = revive_list(inner)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            transcoding = transcoding_named(value["_type_"])
            if transcoding is not None:
                return transcoding.decode(value["_data_"])
            return unknown(value)  # the library's error for an unknown name
        return value

    def revive_list(value: list[Any]) -> list[Any]:
        return [
            revive_dict(v) if type(v) is dict else revive_list(v) if type(v) is list else v
            for v in value
        ]

    return revive_dict, revive_list


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
