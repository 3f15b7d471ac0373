"""A command route: path, body model, builder, and whether it creates (201 when its result
says it created something: api/command_responses.py). The tables of routes are lists of these
(api/command_routes.py, api/hold_routes.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from api import command_builders as b
from domain.commands import Command


@dataclass(frozen=True)
class CommandRoute:
    path: str
    model: type[BaseModel]
    build: Callable[[Any, b.Context], Command]
    summary: str
    tag: str
    creates: bool = False
    path_params: dict[str, Callable[[str], Any]] = field(default_factory=dict)
    method: str = "POST"  # DELETE for a command that takes something away (a promotion)


RESERVATION: dict[str, Callable[[str], Any]] = {"reservation_id": UUID}
PROMOTION: dict[str, Callable[[str], Any]] = {"product_code": str, "promotion_id": UUID}
