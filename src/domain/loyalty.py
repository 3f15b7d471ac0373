"""A customer's loyalty points: lots earned on sales, lost on returns, redeemed, expiring; the
tier that follows the points. Pure: the Customer aggregate keeps a `LoyaltyBook` and each of its
Points* events changes it through the methods below; the checks are the `plan_*` functions,
which decide an event's figures and change nothing.

- A sale earns one lot (`reference` "order:<id>"); the same reference never earns twice.
- A return's loss names the sale it reverses before a slash ("order:<id>/R1"): it takes at most
  what that sale earned and is not yet lost, and never more than the balance (points already
  redeemed stay redeemed). It comes out of the sale's own lot first, then the lots that expire
  first.
- A redemption takes the lots that expire first (first earned, first spent); more than the
  balance is refused.
- Expiry on a day takes what is left of every lot whose last day (`expires_on`) is before it.
- The tier follows the qualifying points: earned in lots not yet past their last day, less what
  returns took back. Redeeming does not lower the tier; expiry and returns do.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from domain.errors import InsufficientPointsError, InvalidCommandError

SALE = "order:"
LOSS_SEPARATOR = "/"
Tiers = tuple[tuple[str, int], ...]  # (tier, qualifying points from which it holds), ascending
DEFAULT_TIERS: Tiers = (("member", 0), ("silver", 500), ("gold", 2000), ("platinum", 5000))


@dataclass
class Lot:
    reference: str
    earned: int
    expires_on: date
    lost: int = 0  # taken back by returns
    spent: int = 0  # redeemed
    expired: int = 0

    @property
    def left(self) -> int:
        return self.earned - self.lost - self.spent - self.expired


@dataclass
class LoyaltyBook:
    lots: list[Lot] = field(default_factory=list)
    lost: dict[str, int] = field(default_factory=dict)  # loss reference -> points
    redeemed: int = 0
    expired_through: date | None = None  # the day of the last expiry: lots before it are gone

    # --- questions ------------------------------------------------------------------------

    @property
    def balance(self) -> int:
        return sum(lot.left for lot in self.lots)

    def earned_for(self, reference: str) -> Lot | None:
        return next((lot for lot in self.lots if lot.reference == reference), None)

    def qualifying(self) -> int:
        """Points that count for the tier: earned in lots not past their last day, less losses."""
        return sum(
            lot.earned - lot.lost
            for lot in self.lots
            if self.expired_through is None or lot.expires_on >= self.expired_through
        )

    def spending_order(self) -> list[Lot]:
        """Lots with points left, those that expire first first (then the first earned)."""
        live = [(lot.expires_on, n, lot) for n, lot in enumerate(self.lots) if lot.left > 0]
        return [lot for _, _, lot in sorted(live, key=lambda entry: entry[:2])]

    # --- changes (applied by the Customer's events; no rule here) --------------------------

    def earn(self, points: int, reference: str, expires_on: date) -> None:
        self.lots.append(Lot(reference, points, expires_on))

    def lose(self, points: int, reference: str) -> None:
        self.lost[reference] = self.lost.get(reference, 0) + points
        sale = self.earned_for(sale_of(reference))
        first = [sale] if sale is not None and sale.left > 0 else []
        for lot in [*first, *(lot for lot in self.spending_order() if lot is not sale)]:
            taken = min(points, lot.left)
            lot.lost += taken
            points -= taken

    def redeem(self, points: int) -> None:
        self.redeemed += points
        for lot in self.spending_order():
            taken = min(points, lot.left)
            lot.spent += taken
            points -= taken

    def expire(self, expired_on: date) -> None:
        for lot in self.lots:
            if lot.expires_on < expired_on:
                lot.expired += lot.left
        self.expired_through = max(expired_on, self.expired_through or expired_on)


# --- rules: what an event would carry, or a refusal ------------------------------------------


def plan_earning(book: LoyaltyBook, points: int, reference: str) -> int:
    """The points a sale earns: none when its reference earned already (a repeat)."""
    _check_points(points)
    if not reference.startswith(SALE) or LOSS_SEPARATOR in reference:
        raise InvalidCommandError(
            f"points are earned on a sale referenced as order:<id>, got {reference!r}"
        )
    return 0 if book.earned_for(reference) is not None else points


def plan_loss(book: LoyaltyBook, points: int, reference: str) -> int:
    """The points a return takes back: at most what its sale earned and is not yet lost, and
    at most the balance; none when the loss was recorded already or the sale earned nothing."""
    _check_points(points)
    sale = sale_of(reference)
    if sale == reference:
        raise InvalidCommandError(
            f"a loss names the sale it reverses and the return, as order:<id>/<return>, "
            f"got {reference!r}"
        )
    if reference in book.lost:
        return 0
    lot = book.earned_for(sale)
    already = sum(n for ref, n in book.lost.items() if sale_of(ref) == sale)
    unreturned = 0 if lot is None else lot.earned - already
    return max(0, min(points, unreturned, book.balance))


def plan_redemption(book: LoyaltyBook, points: int, customer: str) -> int:
    _check_points(points)
    if points > book.balance:
        raise InsufficientPointsError(
            f"customer {customer} has {book.balance} point(s); {points} cannot be redeemed: "
            f"expected at most {book.balance}",
            customer_id=customer,
            balance=book.balance,
            requested=points,
        )
    return points


def plan_expiry(book: LoyaltyBook, today: date) -> int:
    """Points left in lots whose last day is before `today`."""
    return sum(lot.left for lot in book.lots if lot.expires_on < today)


def tier_for(qualifying: int, tiers: Tiers) -> str:
    reached = [name for name, threshold in tiers if qualifying >= threshold]
    return reached[-1] if reached else tiers[0][0]


def check_tiers(tiers: Tiers, known: tuple[str, ...]) -> Tiers:
    """Tiers of known names with thresholds rising from 0; raises naming what is wrong."""
    names = [name for name, _ in tiers]
    thresholds = [threshold for _, threshold in tiers]
    if not tiers or thresholds[0] != 0:
        raise InvalidCommandError("the first loyalty tier must start at 0 points")
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise InvalidCommandError(
            f"unknown loyalty tier(s) {', '.join(unknown)}; expected {', '.join(known)}"
        )
    if len(set(names)) != len(names) or any(b <= a for a, b in itertools.pairwise(thresholds)):
        raise InvalidCommandError(
            f"loyalty tiers must be distinct with rising thresholds, got {tiers}"
        )
    return tiers


def points_for(amount: Decimal, points_per_unit: Decimal) -> int:
    """Whole points for an amount of money (rounded down)."""
    return int((amount * points_per_unit).to_integral_value(rounding=ROUND_FLOOR))


def sale_reference(order_id: object) -> str:
    return f"{SALE}{order_id}"


def loss_reference(order_id: object, return_id: str) -> str:
    return f"{SALE}{order_id}{LOSS_SEPARATOR}{return_id}"


def sale_of(reference: str) -> str:
    return reference.partition(LOSS_SEPARATOR)[0]


def _check_points(points: int) -> None:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidCommandError(f"points must be a positive whole number, got {points!r}")
