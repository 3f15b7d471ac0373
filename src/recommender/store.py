"""Precomputed recommendations in Redis, written by the batch job and read by the API.

Keys (under a namespace): `recs:customer:<id>` one customer's candidates with their history
and locations; `recs:popular:<skin type>` and `recs:popular:any` the fallbacks; `recs:catalog`
the products the rules need; `recs:model` which model version published them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from configuration.urls import take_query_parameter

if TYPE_CHECKING:
    import redis

NAMESPACE = "glow"
TTL_SECONDS = 14 * 86_400


class RecommendationStore:
    def __init__(self, client: redis.Redis, namespace: str = NAMESPACE) -> None:
        self.client = client
        self.prefix = f"{namespace}:recs:"

    @classmethod
    def from_url(cls, url: str) -> RecommendationStore:
        """`redis://host:port/db` (`rediss://` for TLS, its `ssl_*` options in the query),
        with an optional `?namespace=` for the keys."""
        client_url, namespace = take_query_parameter(url, "namespace", NAMESPACE)
        import redis  # Redis's client only where recommendations are served

        return cls(redis.Redis.from_url(client_url), namespace)

    def publish(
        self,
        version: str,
        catalog: dict[str, Any],
        popular: dict[str, list[str]],
        customers: dict[str, dict[str, Any]],
        withdrawn: list[str],
    ) -> None:
        """Replace everything a model publishes; customers without consent lose their entry.

        The catalog, the version and the popular lists change first, together (one MULTI):
        the catalog is read from the whole log, so it holds every product of this version and
        of every earlier one, and an answer made while the customers' entries are being
        replaced, from an old entry or a new one, finds each of its candidates in it (and the
        API's catalog cache, keyed on the version, reloads at once)."""
        switch = self.client.pipeline(transaction=True)
        switch.set(self.prefix + "catalog", orjson.dumps(catalog))
        for skin, codes in popular.items():
            switch.set(self.prefix + f"popular:{skin}", orjson.dumps(codes))
        switch.set(self.prefix + "model", version)
        switch.execute()
        pipe = self.client.pipeline(transaction=False)
        for n, (customer_id, entry) in enumerate(customers.items()):
            pipe.set(self.prefix + f"customer:{customer_id}", orjson.dumps(entry), ex=TTL_SECONDS)
            if n % 1000 == 999:
                pipe.execute()
        for customer_id in withdrawn:
            pipe.delete(self.prefix + f"customer:{customer_id}")
        pipe.execute()

    def version(self) -> str | None:
        """The version published (or being published) here, None before any."""
        found = self.client.get(self.prefix + "model")
        return found.decode() if isinstance(found, bytes) else None

    def forget(self, customer_id: str) -> None:
        self.client.delete(self.prefix + f"customer:{customer_id}")

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._get(f"customer:{customer_id}")
        return found

    def popular(self, skin_type: str | None) -> list[str]:
        found = self._get(f"popular:{skin_type or 'any'}") if skin_type else None
        return list(found or self._get("popular:any") or [])

    def catalog(self) -> tuple[str, dict[str, Any]]:
        version = self.client.get(self.prefix + "model")
        label = version.decode() if isinstance(version, bytes) else ""
        return label, dict(self._get("catalog") or {})

    def _get(self, key: str) -> Any:
        raw = self.client.get(self.prefix + key)
        return None if raw is None else orjson.loads(raw)
