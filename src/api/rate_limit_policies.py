"""Which rate limits a caller is under, read from the settings once, and how they are told
in the IETF fields (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy` and
`RateLimit`).

Two scopes apply to every authenticated request: the token's subject (one integration, one
till, one customer) and the channel it acts for (every caller of `web` together). A role may
have its own per-subject limit (GLOW_RATE_LIMIT_ROLES) and a channel its own per-channel one
(GLOW_RATE_LIMIT_CHANNELS). Each limit is one or more windows in the `limits` library's
notation ("200/second;6000/minute"); each window is a policy of its own in the fields, named
after its scope ("subject", "channel"), with its window appended when a scope has several
("subject-60s")."""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, parse_many

from configuration.settings import Settings, SettingsError

SUBJECT, CHANNEL = "subject", "channel"


@dataclass(frozen=True)
class Window:
    """One window of one scope's limit: its item (amount, length) and its policy's name."""

    scope: str
    name: str
    item: RateLimitItem

    @property
    def seconds(self) -> int:
        return self.item.get_expiry()

    @property
    def amount(self) -> int:
        return self.item.amount

    def describe(self) -> str:
        unit = self.item.GRANULARITY.name
        per = unit if self.item.multiples == 1 else f"{self.item.multiples} {unit}s"
        return f"{self.item.amount} per {per}"


@dataclass(frozen=True)
class Limit:
    """A scope's windows, shortest first."""

    scope: str
    windows: tuple[Window, ...]


def limit(scope: str, notation: str, variable: str) -> Limit:
    try:
        items = sorted(parse_many(notation), key=lambda item: item.get_expiry())
    except ValueError:
        raise SettingsError(
            f"{variable}: {notation!r} is not a rate limit; expected the `limits` notation, "
            "e.g. 200/second or 200/second;6000/minute"
        ) from None
    if any(item.amount < 1 for item in items):
        raise SettingsError(f"{variable}: {notation!r}: every window must allow at least 1")
    several = len(items) > 1
    windows = tuple(
        Window(scope, f"{scope}-{item.get_expiry()}s" if several else scope, item) for item in items
    )
    return Limit(scope, windows)


def _overrides(raw: str, variable: str, scope: str, names: tuple[str, ...]) -> dict[str, Limit]:
    """`name=limit,name=limit`: several windows of one limit are joined by ';'."""
    found: dict[str, Limit] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, _, notation = entry.partition("=")
        name = name.strip()
        if name not in names or not notation.strip():
            raise SettingsError(
                f"{variable} entry {entry!r}: expected NAME=LIMIT with NAME one of "
                f"{', '.join(names)} and LIMIT such as 200/second (windows joined by ';')"
            )
        found[name] = limit(scope, notation.strip(), variable)
    return found


@dataclass(frozen=True)
class Policies:
    per_subject: Limit
    per_channel: Limit
    per_role: dict[str, Limit]
    per_named_channel: dict[str, Limit]

    def subject_limit(self, role: str) -> Limit:
        return self.per_role.get(role, self.per_subject)

    def channel_limit(self, channel: str) -> Limit:
        return self.per_named_channel.get(channel, self.per_channel)


def policies(settings: Settings, roles: tuple[str, ...], channels: tuple[str, ...]) -> Policies:
    """The settings' limits, or a SettingsError naming the variable that does not read."""
    return Policies(
        limit(SUBJECT, settings.rate_limit_per_subject, "GLOW_RATE_LIMIT_PER_SUBJECT"),
        limit(CHANNEL, settings.rate_limit_per_channel, "GLOW_RATE_LIMIT_PER_CHANNEL"),
        _overrides(settings.rate_limit_roles, "GLOW_RATE_LIMIT_ROLES", SUBJECT, roles),
        _overrides(settings.rate_limit_channels, "GLOW_RATE_LIMIT_CHANNELS", CHANNEL, channels),
    )


@dataclass(frozen=True)
class WindowState:
    """A window after this request: units used in it, and when it starts again (epoch s)."""

    window: Window
    used: int
    resets_at: float

    @property
    def remaining(self) -> int:
        return max(0, self.window.amount - self.used)

    def seconds_left(self, now: float) -> int:
        """Whole seconds until the window starts again (at least 1 while units are used)."""
        left = self.resets_at - now
        return max(1, int(left) + (left % 1 > 0)) if self.used else 0


def policy_field(states: list[WindowState]) -> str:
    """The `RateLimit-Policy` field: each policy's quota (q) and window in seconds (w)."""
    return ", ".join(f'"{s.window.name}";q={s.window.amount};w={s.window.seconds}' for s in states)


def ratelimit_field(states: list[WindowState], now: float) -> str:
    """The `RateLimit` field: each policy's remaining quota units (r) and seconds until its
    window resets (t)."""
    return ", ".join(f'"{s.window.name}";r={s.remaining};t={s.seconds_left(now)}' for s in states)
