"""Rate limits at the edge, per token subject and per channel (GLOW_RATE_LIMITS), counted by
the `limits` library in fixed windows.

Where the windows are counted (`counts_for`): GLOW_RATE_LIMIT_STORAGE_URL if set; else Redis
when the hot views are in Redis (every API process in front of one store already shares that
server, so they share one budget); else in this process (`memory://`: each API process has a
budget of its own). In Redis, the library's asyncio storage over redis-py, so a round trip
never blocks the event loop. In process, a dictionary of fixed windows (`InProcessCounts`),
not the library's MemoryStorage: that one starts a timer thread every 10 ms under load to
expire its keys, which cost about 5% of the API process's CPU in samples under the command
benchmark (thread starts, the timer's runs, and the interpreter lock they take).

Fixed windows, and two storage calls per window (add the cost and read the count back, read
when the window ends), because that is all the fields need: the library's strategies would read
the count again for `RateLimit`. A fixed window lets a caller spend up to twice its amount
around a window's edge; a moving window would keep an entry per unit in Redis.

A request is charged before its endpoint runs: 1, or what it asks for when it is a batch (the
SKUs of an availability page, `COSTS`); a till journal pays for its lines as it reads them
(`Budget`, api/till_journal.py). A refusal is a 429 problem naming the limit, with
Retry-After; every limited answer carries `RateLimit-Policy` and `RateLimit`. A refused
request still counts in its windows (as the library's fixed window counts it). The writer's
own overload answer (503 `ledger-busy`) is another thing and stays so. When Redis cannot be
reached, requests are let through (a sale matters more than a budget) and a warning is
logged at most every 30 s."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from limits.aio.storage import RedisStorage
from limits.errors import StorageError
from prometheus_client import Counter
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import PRINCIPAL_KEY, ROUTE_KEY
from api.auth import IMPLIED_CHANNELS, ROLES, Principal
from api.problems import problem_response
from api.rate_limit_policies import (
    SUBJECT,
    Limit,
    Policies,
    Window,
    WindowState,
    policies,
    policy_field,
    ratelimit_field,
)
from configuration.settings import Settings
from domain.channel_rules import CHANNELS

log = logging.getLogger(__name__)

REFUSALS = Counter(
    "glow_rate_limit_refusals_total",
    "Requests refused by a rate limit, by the limit's scope (subject or channel)",
    ["scope"],
)
BUDGET_KEY = "glow.rate_budget"  # a request that pays as it goes finds its Budget here
KEY_PREFIX = "glow-rate-limits"
KEYS_KEPT = 10_000
WARN_EVERY_SECONDS = 30.0

RouteKey = tuple[str, str]
Cost = Callable[[Scope], int]


class WindowCounts(Protocol):
    async def charge(self, key: str, seconds: int, cost: int) -> tuple[int, float]:
        """Add `cost` to the window at `key`: the units used in it since, when it ends."""

    async def peek(self, key: str) -> tuple[int, float]:
        """The units used in the window at `key`, and when it ends."""

    async def close(self) -> None:
        """Let go of any connection (the app's lifespan ends)."""


class InProcessCounts:
    """Fixed windows in this process: a window opens with its first charge and resets
    `seconds` later, as the library's windows do. Called on the event loop's thread only."""

    def __init__(self, kept: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (resets at, used)
        self._kept = kept  # windows past this are pruned of the ended ones
        self._clock = clock

    async def charge(self, key: str, seconds: int, cost: int) -> tuple[int, float]:
        now = self._clock()
        resets_at, used = self._windows.get(key, (0.0, 0))
        if resets_at <= now:  # the window ended (or never opened): a new one opens
            resets_at, used = now + seconds, 0
            if len(self._windows) >= self._kept:
                self._prune(now)
        used += cost
        self._windows[key] = (resets_at, used)
        return used, resets_at

    async def peek(self, key: str) -> tuple[int, float]:
        now = self._clock()
        resets_at, used = self._windows.get(key, (0.0, 0))
        return (used, resets_at) if resets_at > now else (0, now)

    async def close(self) -> None:
        self._windows.clear()

    def _prune(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w[0] > now}


class SharedCounts:
    def __init__(self, url: str) -> None:
        from redis.asyncio import ConnectionPool

        self.pool = ConnectionPool.from_url(url)  # ours, to close with the app
        self.storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=KEY_PREFIX,
            connection_pool=self.pool,  # type: ignore[arg-type]  # handed on to redis-py
        )

    async def charge(self, key: str, seconds: int, cost: int) -> tuple[int, float]:
        used = await self.storage.incr(key, seconds, amount=cost)
        return used, await self.storage.get_expiry(key)

    async def peek(self, key: str) -> tuple[int, float]:
        return await self.storage.get(key), await self.storage.get_expiry(key)

    async def close(self) -> None:
        await self.pool.aclose()


def storage_url(settings: Settings) -> str:
    if settings.rate_limit_storage_url:
        return settings.rate_limit_storage_url
    views = settings.hot_views_url or ""
    return views if views.startswith(("redis://", "rediss://")) else "memory://"


def counts_for(url: str) -> WindowCounts:
    if url.startswith("memory://"):
        return InProcessCounts()
    return SharedCounts(url)


@dataclass(frozen=True)
class Verdict:
    """A request's windows after it was charged (or looked at), and the first it overran."""

    states: list[WindowState]
    refused: WindowState | None
    cost: int
    channel: str | None
    policy: bytes = b""  # the RateLimit-Policy field of these windows, made once per caller

    def fields(self, now: float) -> list[tuple[bytes, bytes]]:
        if not self.states:
            return []
        return [
            (b"ratelimit-policy", self.policy or policy_field(self.states).encode()),
            (b"ratelimit", ratelimit_field(self.states, now).encode()),
        ]


class RateLimitedError(Exception):
    """A request (or a journal's next lines) that its budget cannot pay for now."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__("rate limited")
        self.verdict = verdict

    def response(self, instance: str | None) -> Response:
        return refusal(self.verdict, instance)


def explain(verdict: Verdict, now: float) -> tuple[str, int]:
    """What a refusal says (which limit, what it allows, when to retry) and its Retry-After."""
    state = verdict.refused
    assert state is not None
    window = state.window
    retry = max(1, state.seconds_left(now))
    whose = "this token's" if window.scope == SUBJECT else f"channel {verdict.channel!r}'s"
    limit = f"{whose} rate limit {window.name!r} ({window.describe()})"
    if verdict.cost > window.amount:
        return (
            f"this request costs {verdict.cost} units, more than {limit} allows in one window; "
            f"send it in parts of at most {window.amount}",
            retry,
        )
    return (
        f"{limit} is used up (this request costs {verdict.cost}); "
        f"retry after {retry} s, when the window starts again",
        retry,
    )


def refusal(verdict: Verdict, instance: str | None) -> Response:
    state = verdict.refused
    assert state is not None
    now = time.time()
    detail, retry = explain(verdict, now)
    window = state.window
    REFUSALS.labels(window.scope).inc()
    response = problem_response(
        429,
        "rate-limited",
        "Rate limited",
        detail,
        instance,
        {
            "limit": window.name,
            "scope": window.scope,
            "quota": window.amount,
            "window_seconds": window.seconds,
            "cost": verdict.cost,
            "retry_after": retry,
        },
    )
    response.headers["Retry-After"] = str(retry)
    response.raw_headers.extend(verdict.fields(now))
    return response


class RateLimiter:
    def __init__(self, policies: Policies, counts: WindowCounts) -> None:
        self.policies, self.counts = policies, counts
        self._keys: dict[tuple[str, str, str | None], tuple[tuple[Window, str], ...]] = {}
        self._policies: dict[int, bytes] = {}  # id of a `windows` tuple -> its policy field
        self._warned = 0.0

    def windows(self, principal: Principal, channel: str | None) -> tuple[tuple[Window, str], ...]:
        """The windows a caller is charged in, with their storage keys (kept per caller: a
        channel sends thousands of requests under one token)."""
        found = self._keys.get((principal.subject, principal.role, channel))
        if found is None:
            subject = hashlib.blake2b(principal.subject.encode(), digest_size=12).hexdigest()
            pairs = _keyed(self.policies.subject_limit(principal.role), subject)
            if channel is not None:
                pairs += _keyed(self.policies.channel_limit(channel), channel)
            if len(self._keys) >= KEYS_KEPT:
                self._keys.clear()
                self._policies.clear()
            found = self._keys[(principal.subject, principal.role, channel)] = pairs
            states = [WindowState(window, 0, 0.0) for window, _ in pairs]
            self._policies[id(found)] = policy_field(states).encode()
        return found

    def policy(self, windows: tuple[tuple[Window, str], ...]) -> bytes:
        return self._policies.get(id(windows), b"")

    async def admit(self, principal: Principal, channel: str | None, cost: int) -> Verdict:
        """Charge `cost` in every window; refused if any then holds more than its amount."""
        states, refused = [], None
        windows = self.windows(principal, channel)
        try:
            for window, key in windows:
                used, resets_at = await self.counts.charge(key, window.seconds, cost)
                state = WindowState(window, used, resets_at)
                states.append(state)
                if refused is None and used > window.amount:
                    refused = state
        except StorageError as error:
            return self._let_through(error, cost, channel)
        return Verdict(states, refused, cost, channel, self.policy(windows))

    async def peek(self, principal: Principal, channel: str | None, cost: int) -> Verdict:
        """Look without charging: refused if `cost` more would overrun a window."""
        states, refused = [], None
        windows = self.windows(principal, channel)
        try:
            for window, key in windows:
                used, resets_at = await self.counts.peek(key)
                state = WindowState(window, used, resets_at)
                states.append(state)
                if refused is None and used + cost > window.amount:
                    refused = state
        except StorageError as error:
            return self._let_through(error, cost, channel)
        return Verdict(states, refused, cost, channel, self.policy(windows))

    async def close(self) -> None:
        await self.counts.close()

    def _let_through(self, error: StorageError, cost: int, channel: str | None) -> Verdict:
        now = time.monotonic()
        if now - self._warned > WARN_EVERY_SECONDS:
            self._warned = now
            log.warning("rate limits not counted, requests let through: %s", error)
        return Verdict([], None, cost, channel)


def _keyed(limit: Limit, identity: str) -> tuple[tuple[Window, str], ...]:
    return tuple((w, w.item.key_for(w.scope, identity)) for w in limit.windows)


def rate_limiter(settings: Settings) -> RateLimiter | None:
    """The limiter the settings ask for, or None when GLOW_RATE_LIMITS is off. A limit that
    does not read is a SettingsError naming its variable (`glow serve` refuses to start)."""
    if not settings.rate_limits:
        return None
    return RateLimiter(policies(settings, ROLES, CHANNELS), counts_for(storage_url(settings)))


def acting_channel(scope: Scope, principal: Principal) -> str | None:
    """The channel a request acts for: the token's, the one its role implies, or (an admin,
    who names none) the X-Channel it sends if that names a channel."""
    if principal.channel is not None:
        return principal.channel
    implied = IMPLIED_CHANNELS.get(principal.role)
    if implied is not None:
        return implied
    for name, value in scope["headers"]:
        if name == b"x-channel":
            named = value.decode("latin-1").strip().lower()
            return named if named in CHANNELS else None
    return None


class Budget:
    """What a request that pays as it goes (a till journal, per line) spends from: it paid 1
    to come in, which its first unit uses; each further part waits for its windows to have
    room, up to `max_wait` seconds in all, else RateLimitedError."""

    def __init__(self, limiter: RateLimiter, principal: Principal, channel: str | None) -> None:
        self.limiter, self.principal, self.channel = limiter, principal, channel
        self.prepaid = 1

    async def spend(self, cost: int, max_wait: float) -> None:
        used = min(cost, self.prepaid)
        self.prepaid -= used
        cost -= used
        deadline = time.monotonic() + max_wait
        smallest = min(w.amount for w, _ in self.limiter.windows(self.principal, self.channel))
        while cost > 0:
            part = min(cost, smallest)
            await self._room_for(part, deadline)
            verdict = await self.limiter.admit(self.principal, self.channel, part)
            if verdict.refused is not None:  # another process took the room meanwhile
                raise RateLimitedError(verdict)
            cost -= part

    async def _room_for(self, cost: int, deadline: float) -> None:
        while True:
            verdict = await self.limiter.peek(self.principal, self.channel, cost)
            if verdict.refused is None:
                return
            wait = verdict.refused.resets_at - time.time()
            if time.monotonic() + wait > deadline:
                raise RateLimitedError(verdict)
            await asyncio.sleep(max(wait, 0.001))

    async def fields(self) -> list[tuple[bytes, bytes]]:
        verdict = await self.limiter.peek(self.principal, self.channel, 0)
        return verdict.fields(time.time())


def with_fields(send: Send, fields: Callable[[], Awaitable[list[tuple[bytes, bytes]]]]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *await fields()]}
        await send(message)

    return sending


class RateLimits:
    """The Starlette side (the command gateway calls the limiter itself): after the access
    middleware, so the caller is known. Routes in `metered` pay as they go (their Budget is
    in the scope); the others are charged their cost (1 unless `costs` says otherwise)."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter | None,
        costs: Mapping[RouteKey, Cost],
        metered: frozenset[RouteKey],
    ) -> None:
        self.app, self.limiter, self.costs, self.metered = app, limiter, costs, metered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get(PRINCIPAL_KEY)
        if self.limiter is None or not isinstance(principal, Principal):
            await self.app(scope, receive, send)
            return
        channel = acting_channel(scope, principal)
        route = scope.get(ROUTE_KEY)
        if route in self.metered:
            verdict = await self.limiter.admit(principal, channel, 1)
            budget = Budget(self.limiter, principal, channel)
            scope[BUDGET_KEY] = budget
            fields = budget.fields
        else:
            priced = self.costs.get(route) if route is not None else None
            cost = priced(scope) if priced is not None else 1
            verdict = await self.limiter.admit(principal, channel, cost)
            charged = verdict.fields(time.time())

            async def fields() -> list[tuple[bytes, bytes]]:
                return charged

        if verdict.refused is not None:
            await refusal(verdict, scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, with_fields(send, fields))
