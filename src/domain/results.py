"""What a handler decided, in the business's terms: the answer's body, and whether the command
brought something new into being (a product, a variant, a location, a reservation, a customer)
or acted on what already existed. Which HTTP status that is, is the API's business."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    body: dict[str, Any]
    created: bool = False
