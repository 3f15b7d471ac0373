"""Probabilistic matching scores likely duplicates high and strangers low; it never merges."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from privacy.matching import MatchFacts, fold_name, is_proposed, match_score

ELODIE = MatchFacts("Élodie Martin", date(1990, 4, 12), "75011")


def test_names_fold_across_accents_order_and_punctuation() -> None:
    assert fold_name("Élodie  Martin") == fold_name("martin, elodie")


def test_the_same_person_spelled_differently_is_proposed() -> None:
    other = MatchFacts("martin elodie", date(1990, 4, 12), "75 011")
    assert match_score(ELODIE, other) == 1.0
    assert is_proposed(match_score(ELODIE, other))


def test_a_typo_and_swapped_day_and_month_still_score_high() -> None:
    other = MatchFacts("Elodie Martinn", date(1990, 12, 4), "75011")
    assert 0.75 <= match_score(ELODIE, other) < 1.0


def test_a_namesake_born_elsewhere_and_another_year_is_not_proposed() -> None:
    namesake = MatchFacts("Elodie Martin", date(1971, 8, 30), "13001")
    assert not is_proposed(match_score(ELODIE, namesake))


def test_missing_facts_count_as_no_evidence() -> None:
    assert match_score(ELODIE, MatchFacts(None, None, None)) == 0.0


FACTS = st.builds(
    MatchFacts,
    st.one_of(st.none(), st.text(max_size=30)),
    st.one_of(st.none(), st.dates()),
    st.one_of(st.none(), st.text(max_size=8)),
)


@given(a=FACTS, b=FACTS)
def test_a_score_is_symmetric_and_between_zero_and_one(a: MatchFacts, b: MatchFacts) -> None:
    assert 0.0 <= match_score(a, b) <= 1.0
    assert match_score(a, b) == match_score(b, a)
