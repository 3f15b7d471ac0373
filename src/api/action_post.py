"""A POST with an endpoint of its own, outside the command routes' shared endpoint: it acts
on something other than the ledger's writer (webhook subscriptions) or builds its own key
(a marketplace order import). Declared in tables like the other routes, so the app, access
control and the OpenAPI document are made from the same list."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from api.query_route import Endpoint


@dataclass(frozen=True)
class ActionPost:
    path: str
    model: type[BaseModel]
    endpoint: Endpoint
    summary: str
    tag: str
    ok: int = 200  # the status of a first success (201 when it creates)
    signed: bool = False  # a signed webhook: authenticated by its signature, not a token
