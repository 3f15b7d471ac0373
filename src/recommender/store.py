"""Precomputed recommendations in Redis, written by the batch job and read by the API.

Keys (under a namespace): `recs:customer:<id>` one customer's candidates with their history
and locations; `recs:popular:<skin type>` and `recs:popular:any` the fallbacks; `recs:catalog`
the products the rules need; `recs:model` which model version published them; `recs:index` (a
hash) the serving model's vector index with its version and the products' prices, written
before `recs:model` names the version.

Challengers of an experiment (a model version tested against the serving one):
`recs:challenger:<version>:customer:<id>` each consenting customer's candidates from that
version, `recs:challenger:<version>` when they were published, `recs:challengers` the versions
published (so that `forget` finds every challenger entry of a customer)."""

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
        switch.incr(self.prefix + "catalog:revision")
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

    def publish_catalog(self, catalog: dict[str, Any]) -> None:
        """The catalog alone, between models: a product defined, changed, discontinued or
        promoted reaches the rules and the ranking at once, not at the next promoted model.
        The revision tells the API's cache to reload it (one MULTI: both or neither)."""
        switch = self.client.pipeline(transaction=True)
        switch.set(self.prefix + "catalog", orjson.dumps(catalog))
        switch.incr(self.prefix + "catalog:revision")
        switch.execute()

    def state(self) -> tuple[str, int]:
        """The published model's version ("" before any) and the catalog's revision, in one
        round trip: what the API's cache compares at every request."""
        version, revision = self.client.mget(
            [self.prefix + "model", self.prefix + "catalog:revision"]
        )
        label = version.decode() if isinstance(version, bytes) else ""
        return label, int(revision) if revision is not None else 0

    def publish_index(self, version: str, index: bytes, prices: dict[str, Any]) -> None:
        """The vector index (`VectorIndex.to_bytes`) of the model about to be published, and
        the SKU prices similar products compare; one write, so a reader sees all or none."""
        fields = {"version": version, "index": index, "prices": orjson.dumps(prices)}
        self.client.hset(self.prefix + "index", mapping=fields)  # type: ignore[arg-type]

    def index(self) -> tuple[str, bytes, dict[str, Any]] | None:
        """The published vector index: its version, its bytes and the prices; None if none."""
        found: dict[bytes, bytes] = self.client.hgetall(self.prefix + "index")  # type: ignore[assignment]
        if not found or b"index" not in found:
            return None
        version = found.get(b"version", b"").decode()
        return version, found[b"index"], dict(orjson.loads(found.get(b"prices", b"{}")))

    def forget(self, customer_id: str) -> None:
        """Everything published for the customer: the serving model's entry and every
        challenger's."""
        keys = [self.prefix + f"customer:{customer_id}"]
        for version in self.challengers():
            keys.append(self.prefix + f"challenger:{version}:customer:{customer_id}")
        self.client.delete(*keys)

    def publish_challenger(
        self,
        version: str,
        customers: dict[str, dict[str, Any]],
        withdrawn: list[str],
        published_at: str,
    ) -> None:
        """A challenger version's candidates, beside the serving model's (which stay); the
        customers without consent lose their entry of this version."""
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(self.prefix + "challengers", version)
        for n, (customer_id, entry) in enumerate(customers.items()):
            key = self.prefix + f"challenger:{version}:customer:{customer_id}"
            pipe.set(key, orjson.dumps(entry), ex=TTL_SECONDS)
            if n % 1000 == 999:
                pipe.execute()
        for customer_id in withdrawn:
            pipe.delete(self.prefix + f"challenger:{version}:customer:{customer_id}")
        pipe.set(self.prefix + f"challenger:{version}", published_at, ex=TTL_SECONDS)
        pipe.execute()

    def challenger(self, version: str, customer_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._get(f"challenger:{version}:customer:{customer_id}")
        return found

    def challenger_published(self, version: str) -> str | None:
        """When the version's candidates were last published (None: never, or expired)."""
        raw = self.client.get(self.prefix + f"challenger:{version}")
        return raw.decode() if isinstance(raw, bytes) else None

    def challengers(self) -> list[str]:
        members = self.client.smembers(self.prefix + "challengers")
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._get(f"customer:{customer_id}")
        return found

    def popular(self, skin_type: str | None) -> list[str]:
        found = self._get(f"popular:{skin_type or 'any'}") if skin_type else None
        return list(found or self._get("popular:any") or [])

    def version(self) -> str:
        """The version published (or being published) here ("" before any)."""
        found = self.client.get(self.prefix + "model")
        return found.decode() if isinstance(found, bytes) else ""

    def catalog(self) -> tuple[str, dict[str, Any]]:
        version = self.client.get(self.prefix + "model")
        label = version.decode() if isinstance(version, bytes) else ""
        return label, dict(self._get("catalog") or {})

    def _get(self, key: str) -> Any:
        raw = self.client.get(self.prefix + key)
        return None if raw is None else orjson.loads(raw)
