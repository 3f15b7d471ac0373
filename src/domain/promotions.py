"""Promotions of a product: a whole-percent discount for a period, on some sales channels (none
named: every channel). The rules a schedule must keep are decided here, on the product's
promotions as the writer holds them, so two overlapping schedules cannot both be accepted."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.channel_rules import CHANNELS
from domain.errors import InvalidCommandError, PromotionOverlapError, UnknownPromotionError
from domain.trace import Trace

MIN_DISCOUNT, MAX_DISCOUNT = 1, 99


@dataclass(frozen=True)
class Promotion:
    promotion_id: str
    discount_percent: int
    starts: datetime
    ends: datetime  # exclusive: the promotion is over at this instant
    channels: tuple[str, ...] = ()  # empty: every channel

    def covers(self, channel: str | None) -> bool:
        """Whether it applies on `channel` (None: a caller of no channel, whom only a
        promotion on every channel reaches)."""
        return not self.channels or channel in self.channels

    def active(self, at: datetime, channel: str | None) -> bool:
        return self.starts <= at < self.ends and self.covers(channel)

    def overlaps(self, other: Promotion) -> bool:
        shared = not self.channels or not other.channels or set(self.channels) & set(other.channels)
        return bool(shared) and self.starts < other.ends and other.starts < self.ends


def require_schedulable(
    product_code: str,
    promotion: Promotion,
    live: Iterable[Promotion],
    taken: Collection[str],
    trace: Trace,
) -> None:
    """Refuse a promotion that is not one, whose id is `taken` (by any promotion of the
    product, withdrawn ones included), or that overlaps one of `live` on a channel."""
    p = promotion
    if p.promotion_id in taken:
        raise PromotionOverlapError(
            f"promotion {p.promotion_id} of {product_code} is already scheduled; "
            "use a new promotion id",
            product_code=product_code,
            promotion_id=p.promotion_id,
        )
    if not MIN_DISCOUNT <= p.discount_percent <= MAX_DISCOUNT:
        raise InvalidCommandError(
            f"discount_percent must be a whole number from {MIN_DISCOUNT} to {MAX_DISCOUNT}, "
            f"got {p.discount_percent}",
            discount_percent=p.discount_percent,
        )
    if p.starts.tzinfo is None or p.ends.tzinfo is None:
        raise InvalidCommandError("starts and ends must carry a timezone offset")
    if p.ends <= p.starts:
        raise InvalidCommandError(
            f"a promotion must end after it starts; it starts {p.starts.isoformat()} and ends "
            f"{p.ends.isoformat()}",
            starts=p.starts.isoformat(),
            ends=p.ends.isoformat(),
        )
    if p.ends <= trace.occurred_at:
        raise InvalidCommandError(
            f"the promotion ended {p.ends.isoformat()}, before it was scheduled "
            f"({trace.occurred_at.isoformat()}); schedule one that ends later",
            ends=p.ends.isoformat(),
        )
    unknown = sorted(set(p.channels) - set(CHANNELS))
    if unknown:
        raise InvalidCommandError(
            f"unknown channels {', '.join(unknown)}; expected some of {', '.join(CHANNELS)} "
            "(or none for every channel)",
            channels=unknown,
        )
    for other in live:
        if other.overlaps(p):
            where = ", ".join(other.channels) if other.channels else "every channel"
            raise PromotionOverlapError(
                f"{product_code} already has promotion {other.promotion_id} on {where} from "
                f"{other.starts.isoformat()} to {other.ends.isoformat()}; a product has at most "
                "one promotion per channel at a time (withdraw it, or choose another period)",
                product_code=product_code,
                overlapping=other.promotion_id,
            )


def require_withdrawable(
    product_code: str, promotion_id: str, scheduled: Mapping[str, Promotion]
) -> None:
    if promotion_id not in scheduled:
        raise UnknownPromotionError(
            f"{product_code} has no promotion {promotion_id!r}",
            product_code=product_code,
            promotion_id=promotion_id,
        )
