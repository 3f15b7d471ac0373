"""Probabilistic matching: how likely two profiles describe one person.

A score only proposes a merge for a person to confirm; nothing here ever merges.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher

from privacy.contacts import normalise_postcode

NAME_WEIGHT, BIRTH_WEIGHT, POSTCODE_WEIGHT = 0.5, 0.3, 0.2
PROPOSAL_THRESHOLD = 0.75


@dataclass(frozen=True)
class MatchFacts:
    name: str | None
    date_of_birth: date | None
    postcode: str | None


def fold_name(name: str) -> str:
    """Lower case, accents and punctuation dropped, words sorted: 'Élodie  Martin' and
    'martin, elodie' fold alike."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = "".join(ch if ch.isalnum() else " " for ch in letters.lower()).split()
    return " ".join(sorted(words))


def name_similarity(a: str, b: str) -> float:
    folded_a, folded_b = fold_name(a), fold_name(b)
    if not folded_a or not folded_b:
        return 0.0
    first, second = sorted((folded_a, folded_b))  # the ratio depends on the order; fix it
    return SequenceMatcher(None, first, second).ratio()


def birth_similarity(a: date, b: date) -> float:
    """Equal dates score 1; day and month swapped (a US/EU slip) or one digit off score 0.5."""
    if a == b:
        return 1.0
    swapped = a.year == b.year and a.day == b.month and a.month == b.day
    near = a.year == b.year and a.month == b.month and abs(a.day - b.day) <= 1
    return 0.5 if swapped or near else 0.0


def match_score(a: MatchFacts, b: MatchFacts) -> float:
    """Weighted evidence in [0, 1]; a missing fact on either side counts as no evidence."""
    score = 0.0
    if a.name and b.name:
        score += NAME_WEIGHT * name_similarity(a.name, b.name)
    if a.date_of_birth and b.date_of_birth:
        score += BIRTH_WEIGHT * birth_similarity(a.date_of_birth, b.date_of_birth)
    if a.postcode and b.postcode:
        same = normalise_postcode(a.postcode) == normalise_postcode(b.postcode)
        score += POSTCODE_WEIGHT * (1.0 if same else 0.0)
    return round(score, 3)


def is_proposed(score: float) -> bool:
    return score >= PROPOSAL_THRESHOLD
