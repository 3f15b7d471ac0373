"""Hot views in Redis. One Lua script applies a batch atomically: a document is written only
if its stored version is the one it was computed from, and never over a newer one, so a
duplicated or replayed event changes nothing; the consumer's position is recorded in the same
script. Keys live under a generation (`<namespace>:<generation>:...`) so a rebuild fills a new
generation and swaps it in with one SET.

Redis keeps what a script wrote before an error (a place GEOADD refuses), so each document's
indexes go first and its version last: a write that fails leaves its version as it was, and
applying it again fails again instead of skipping a half-written document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import redis

from projections.hot_views import LOCATIONS_GEO, OPEN_RESERVATIONS, Document, ViewWrite

NAMESPACE = "glow"

APPLY = """
local generation = ARGV[1]
if generation == "" then generation = redis.call("GET", KEYS[1]) or "0" end
local p = ARGV[5] .. ":" .. generation .. ":"
local writes = cjson.decode(ARGV[4])
local conflicts = {}
for _, w in ipairs(writes) do
  local stored = tonumber(redis.call("HGET", p .. "versions", w[1]) or "0")
  if stored < w[3] or w[6] == 1 then
    if stored ~= w[2] then
      table.insert(conflicts, w[1])
    else
      for _, op in ipairs(w[5]) do
        local kind, key, member = op[1], p .. op[2], op[3]
        if kind == "sadd" then redis.call("SADD", key, member)
        elseif kind == "srem" then redis.call("SREM", key, member)
        elseif kind == "zadd" then redis.call("ZADD", key, op[4], member)
        elseif kind == "zrem" then redis.call("ZREM", key, member)
        elseif kind == "geoadd" then redis.call("GEOADD", key, op[5], op[6], member)
        end
      end
      redis.call("SET", p .. "doc:" .. w[1], w[4])
      redis.call("HSET", p .. "versions", w[1], w[3])
    end
  end
end
if #conflicts == 0 then
  local position_key = p .. "position:" .. ARGV[2]
  local current = tonumber(redis.call("GET", position_key) or "0")
  if tonumber(ARGV[3]) > current then redis.call("SET", position_key, ARGV[3]) end
end
return conflicts
"""


class RedisHotViews:
    def __init__(
        self, client: redis.Redis, namespace: str = NAMESPACE, generation: str = ""
    ) -> None:
        self.client = client  # made with decode_responses=True
        self.namespace = namespace
        self.generation = generation  # "" follows the current generation
        self.generation_key = f"{namespace}:generation"
        self._apply = client.register_script(APPLY)

    @classmethod
    def from_url(cls, url: str, namespace: str = NAMESPACE) -> RedisHotViews:
        return cls(redis.Redis.from_url(url, decode_responses=True), namespace)

    def prefix(self) -> str:
        generation = self.generation or str(self.client.get(self.generation_key) or "0")
        return f"{self.namespace}:{generation}:"

    def read(self, keys: Sequence[str]) -> dict[str, Document | None]:
        if not keys:
            return {}
        p = self.prefix()
        raw = self.client.mget([p + "doc:" + key for key in keys])
        return {
            key: orjson.loads(value) if value else None
            for key, value in zip(keys, raw, strict=True)
        }

    def apply(self, writes: Sequence[ViewWrite], consumer: str, position: int) -> list[str]:
        batch = [
            [
                w.key,
                w.expected_version,
                w.document["version"],
                orjson.dumps(w.document).decode(),
                [[o.kind, o.key, o.member, o.score, o.longitude, o.latitude] for o in w.indexes],
                1 if w.rewrites else 0,
            ]
            for w in writes
        ]
        args: list[str | int | bytes] = [
            self.generation,
            consumer,
            position,
            orjson.dumps(batch),
            self.namespace,
        ]
        conflicts: list[Any] = self._apply(keys=[self.generation_key], args=args)
        return [str(c) for c in conflicts]

    def position(self, consumer: str) -> int:
        return int(self.client.get(self.prefix() + "position:" + consumer) or 0)

    def members(self, index: str) -> list[str]:
        return sorted(str(m) for m in self.client.smembers(self.prefix() + index))

    def nearest(self, longitude: float, latitude: float, radius_km: float) -> list[str]:
        found = self.client.geosearch(
            self.prefix() + LOCATIONS_GEO,
            longitude=longitude,
            latitude=latitude,
            radius=radius_km,
            unit="km",
            sort="ASC",
        )
        return [str(m) for m in found]

    def open_reservations_due(self, until_epoch: float) -> list[str]:
        due = self.client.zrangebyscore(self.prefix() + OPEN_RESERVATIONS, "-inf", until_epoch)
        return [str(m) for m in due]

    def all_documents(self) -> dict[str, Document]:
        p = self.prefix() + "doc:"
        keys = sorted(str(k) for k in self.client.scan_iter(match=p + "*", count=1000))
        values = self.client.mget(keys) if keys else []
        return {k.removeprefix(p): orjson.loads(v) for k, v in zip(keys, values, strict=True) if v}

    def ranked(
        self, index: str, after: float | None, limit: int, *, newest_first: bool = False
    ) -> list[tuple[str, float]]:
        key = self.prefix() + index
        if newest_first:
            top = "+inf" if after is None else f"({after!r}"
            found = self.client.zrevrangebyscore(key, top, "-inf", 0, limit, withscores=True)
        else:
            bottom = "-inf" if after is None else f"({after!r}"
            found = self.client.zrangebyscore(key, bottom, "+inf", 0, limit, withscores=True)
        return [(str(pair[0]), float(pair[1])) for pair in found]

    def drop(self, index: str) -> None:
        self.client.unlink(self.prefix() + index)

    # --- rebuild: fill a new generation, then swap it in ------------------------------------

    def new_generation(self) -> RedisHotViews:
        generation = str(self.client.incr(f"{self.namespace}:generations"))
        return RedisHotViews(self.client, self.namespace, generation)

    def swap_in(self, rebuilt: RedisHotViews) -> None:
        old = self.prefix()
        self.client.set(self.generation_key, rebuilt.generation)
        self._unlink_prefixed(old)

    def discard(self, rebuilt: RedisHotViews) -> None:
        """Delete a generation a failed rebuild left half-filled (never the live one)."""
        if rebuilt.generation and rebuilt.prefix() != self.prefix():
            self._unlink_prefixed(rebuilt.prefix())

    def _unlink_prefixed(self, prefix: str) -> None:
        stale = [str(k) for k in self.client.scan_iter(match=prefix + "*", count=1000)]
        for batch in _chunks(stale, 1000):
            self.client.unlink(*batch)

    def drop_everything(self) -> None:
        """Delete every key of this namespace (all generations)."""
        keys = [str(k) for k in self.client.scan_iter(match=self.namespace + ":*", count=1000)]
        for batch in _chunks(keys, 1000):
            self.client.unlink(*batch)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
