"""The one way a GET route reads its query parameters: each parameter is declared once with its
type and range, read by the endpoint and described in the OpenAPI document from the same
declaration. A value outside its type or range is a 422 problem naming the parameter and what
was expected, before any arithmetic or storage call sees it.

Text is checked against ASCII patterns, not `str.isdigit` or `float()` (which take superscript
digits, other scripts' digits, `inf` and `nan`); days and instants lie within FIRST_DAY and
LAST_DAY; positions and counts within PostgreSQL's bigint.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from starlette.requests import Request

from api.problems import ApiProblem

T = TypeVar("T")
Ranged = TypeVar("Ranged", int, float, date)

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
BIGINT_MAX = 2**63 - 1
MAX_TEXT = 200
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}", re.ASCII)
WHOLE = re.compile(r"[0-9]{1,19}", re.ASCII)
DECIMAL = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,15})?", re.ASCII)
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", re.ASCII)


class InvalidValueError(ValueError):
    """The text is not a value of the parameter's type and range; says what is expected."""


@dataclass(frozen=True)
class Parameter(Generic[T]):
    name: str
    parse: Callable[[str], T]
    expected: str  # what a valid value looks like, for the problem and the OpenAPI document
    schema: dict[str, Any]
    default: T | None = None
    required: bool = False
    description: str = ""

    def read(self, request: Request) -> T | None:
        raw = request.query_params.get(self.name)
        if raw is None or raw == "":
            if self.required:
                raise _invalid(self.name, f"{self.name} is required: {self.expected}")
            return self.default
        try:
            return self.parse(raw)
        except (ValueError, OverflowError) as error:  # InvalidValueError says why
            reason = f": {error}" if isinstance(error, InvalidValueError) else ""
            shown = raw if len(raw) <= 40 else raw[:40] + "..."
            raise _invalid(
                self.name, f"{self.name}={shown!r} is not valid{reason}; expected {self.expected}"
            ) from None

    def value(self, request: Request) -> T:
        """The value, for a parameter that is required or has a default."""
        found = self.read(request)
        assert found is not None, f"{self.name} has neither a default nor required=True"
        return found

    def openapi(self) -> dict[str, Any]:
        schema = dict(self.schema)
        if self.default is not None:
            schema["default"] = _plain(self.default)
        described = f"{self.description}; {self.expected}" if self.description else self.expected
        return {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "schema": schema,
            "description": described,
        }


def _invalid(name: str, detail: str) -> ApiProblem:
    return ApiProblem(422, "invalid-query", "Invalid query parameter", detail, parameter=name)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _matching(pattern: re.Pattern[str], raw: str, what: str) -> str:
    if pattern.fullmatch(raw) is None:
        raise InvalidValueError(what)
    return raw


def _within(value: Ranged, low: Ranged, high: Ranged) -> Ranged:
    if not low <= value <= high:
        raise InvalidValueError(f"out of range {low} to {high}")
    return value


# --- the types ----------------------------------------------------------------------------


def whole(
    name: str, low: int, high: int, default: int | None = None, **more: Any
) -> Parameter[int]:
    def parse(raw: str) -> int:
        return _within(int(_matching(WHOLE, raw, "not ASCII digits")), low, high)

    schema = {"type": "integer", "minimum": low, "maximum": high}
    return Parameter(name, parse, f"a whole number from {low} to {high}", schema, default, **more)


def position(name: str, **more: Any) -> Parameter[int]:
    """A position in the log (or an aggregate's version) to read after: the next one must
    still be a PostgreSQL bigint."""
    return whole(name, 0, BIGINT_MAX - 1, 0, **more)


def coordinate(name: str, limit: float, **more: Any) -> Parameter[float]:
    def parse(raw: str) -> float:
        value = float(_matching(DECIMAL, raw, "not a plain decimal number"))
        return _within(value, -limit, limit)

    schema = {"type": "number", "minimum": -limit, "maximum": limit}
    return Parameter(name, parse, f"a decimal number from {-limit} to {limit}", schema, **more)


def day(name: str, **more: Any) -> Parameter[date]:
    def parse(raw: str) -> date:
        found = date.fromisoformat(_matching(DAY, raw, "not YYYY-MM-DD"))
        return _within(found, FIRST_DAY, LAST_DAY)

    expected = f"a day YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}"
    schema = {"type": "string", "format": "date"}
    return Parameter(name, parse, expected, schema, **more)


def instant(name: str, **more: Any) -> Parameter[datetime]:
    def parse(raw: str) -> datetime:
        if not raw.isascii() or len(raw) > 40:
            raise InvalidValueError("not an ISO 8601 instant")
        found = datetime.fromisoformat(raw)
        if found.tzinfo is None:
            raise InvalidValueError("it has no timezone; add Z or +00:00")
        if not FIRST_DAY.year <= found.year <= LAST_DAY.year:  # before the offset is applied
            raise InvalidValueError(f"out of range {FIRST_DAY} to {LAST_DAY}")
        return found.astimezone(UTC)

    expected = "an ISO 8601 instant with a timezone, such as 2026-01-31T12:00:00+00:00"
    schema = {"type": "string", "format": "date-time"}
    return Parameter(name, parse, expected, schema, **more)


def choice(
    name: str, options: tuple[str, ...], default: str | None = None, **more: Any
) -> Parameter[str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise InvalidValueError("not one of the options")
        return raw

    schema = {"type": "string", "enum": list(options)}
    return Parameter(name, parse, f"one of {', '.join(options)}", schema, default, **more)


def code(name: str, **more: Any) -> Parameter[str]:
    """A SKU, location or product code, as the command bodies take them."""

    def parse(raw: str) -> str:
        return _matching(CODE, raw, "not a code")

    expected = "a code of 1 to 64 letters, digits and . _ : / - (starting with a letter or digit)"
    schema = {"type": "string", "pattern": CODE.pattern, "maxLength": 64}
    return Parameter(name, parse, expected, schema, **more)


def codes(name: str, most: int, **more: Any) -> Parameter[list[str]]:
    """Codes separated by commas (empty items are skipped)."""

    def parse(raw: str) -> list[str]:
        items = [item.strip() for item in raw.split(",") if item.strip()]
        if not 1 <= len(items) <= most:
            raise InvalidValueError(f"give 1 to {most} codes")
        for item in items:
            _matching(CODE, item, f"{item[:40]!r} is not a code")
        return items

    expected = f"1 to {most} codes separated by commas, such as A-1,B-2"
    schema = {"type": "string"}
    return Parameter(name, parse, expected, schema, **more)


@dataclass(frozen=True)
class Repeated(Parameter[list[str]]):
    """Codes given one per occurrence of the parameter (`?sku=A&sku=B`), at most `most`."""

    most: int = 100

    def read(self, request: Request) -> list[str] | None:
        values = [value for value in request.query_params.getlist(self.name) if value]
        if not values:
            return super().read(request)  # absent: the default, or required's refusal
        if len(values) > self.most:
            raise _invalid(
                self.name, f"{len(values)} values of {self.name} given; expected {self.expected}"
            )
        for value in values:
            shown = value if len(value) <= 40 else value[:40] + "..."
            if CODE.fullmatch(value) is None:
                raise _invalid(
                    self.name, f"{self.name}={shown!r} is not valid; expected {self.expected}"
                )
        return values

    def openapi(self) -> dict[str, Any]:
        return {**super().openapi(), "style": "form", "explode": True}


def repeated_codes(name: str, most: int, **more: Any) -> Repeated:
    def parse(raw: str) -> list[str]:  # reached only through `read`, for one value
        return [_matching(CODE, raw, "not a code")]

    item = {"type": "string", "pattern": CODE.pattern, "maxLength": 64}
    expected = (
        f"1 to {most} codes (1 to 64 letters, digits and . _ : / -), the parameter repeated "
        f"for each, such as {name}=A-1&{name}=B-2"
    )
    schema = {"type": "array", "items": item, "maxItems": most}
    return Repeated(name, parse, expected, schema, most=most, **more)


def text(name: str, **more: Any) -> Parameter[str]:
    def parse(raw: str) -> str:
        if len(raw) > MAX_TEXT or not raw.isprintable():
            raise InvalidValueError(f"longer than {MAX_TEXT} characters or not printable")
        return raw

    expected = f"printable text of at most {MAX_TEXT} characters"
    return Parameter(name, parse, expected, {"type": "string", "maxLength": MAX_TEXT}, **more)


def identifier(name: str, **more: Any) -> Parameter[str]:
    """An id made of a UUID (a customer's), answered in its lower-case canonical form."""

    def parse(raw: str) -> str:
        return str(UUID(_matching(UUID_TEXT, raw, "not a UUID")))

    expected = "a UUID (8-4-4-4-12 hexadecimal digits)"
    schema = {"type": "string", "format": "uuid"}
    return Parameter(name, parse, expected, schema, **more)


Declared = dict[str, tuple[Parameter[Any], ...]]  # a route's path -> its query parameters


def openapi_parameters(parameters: tuple[Parameter[Any], ...]) -> list[dict[str, Any]]:
    return [parameter.openapi() for parameter in parameters]


def check_query(request: Request, parameters: tuple[Parameter[Any], ...]) -> None:
    """Read every declared parameter once, so a bad one is refused before the endpoint runs."""
    for parameter in parameters:
        parameter.read(request)
