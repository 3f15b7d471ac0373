"""The EU lists the rules consult, as shipped in two PyPI packages and read offline.

- `on-the-list`: the CosIng annexes of Regulation (EC) No 1223/2009 (II prohibited, III restricted,
  IV colourants, V preservatives, VI UV filters), CC BY 4.0.
- `on-notice`: dated amendments not yet (or only just) applying, among them Regulation (EU)
  2023/1545, which adds the fragrance allergens that must be named on the label.

Both match names exactly after folding (no fuzzy matching); so do we.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

import on_notice  # type: ignore[import-untyped]
from on_the_list.models import AnnexEntry  # type: ignore[import-untyped]
from on_the_list.register import load as load_annexes  # type: ignore[import-untyped]

FRAGRANCE_REGULATION = "Commission Regulation (EU) 2023/1545"
# Annex III entries 67-92: the fragrance allergens Directive 2003/15/EC made labels name (68, 79
# and 83 have since moved to entry 45 and to Annex II); Regulation (EU) 2023/1545 adds the rest.
LABELLED_FRAGRANCE_ENTRIES = range(67, 93)


def fold(name: str) -> str:
    """One spelling per INCI name: accents dropped, case folded, punctuation to single spaces."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


@dataclass(frozen=True)
class Listing:
    """One entry of an EU list naming an ingredient."""

    source: str  # "Annex II", "Annex III", ..., or the amending regulation
    reference: str
    product_types: str = ""

    @property
    def citation(self) -> str:
        return f"{self.source}, entry {self.reference}"


class EuLists:
    def __init__(self) -> None:
        self._annex: dict[str, list[Listing]] = {}
        self._synonyms: dict[str, set[str]] = {}
        self._family_of: dict[str, set[str]] = {}  # an entry's first substance -> its names
        self.fragrance_allergens: set[str] = set()
        self.uv_filters: set[str] = set()
        self.preservatives: set[str] = set()
        for entry in load_annexes().entries:
            self._take_annex_entry(entry)
        for entry in on_notice.load_register().labelling_only:
            self._take_notice_entry(entry)

    def _take_annex_entry(self, entry: AnnexEntry) -> None:
        if entry.nano_only:
            return
        names = {fold(name) for name, _ in entry.normalised_names}
        listing = Listing(f"Annex {entry.annex}", entry.reference, entry.product_types.strip())
        for name in names:
            self._annex.setdefault(name, []).append(listing)
        if entry.annex == "VI":
            self.uv_filters |= names
        if entry.annex == "V":
            self.preservatives |= names
        if entry.annex == "III" and _number(entry.reference) in LABELLED_FRAGRANCE_ENTRIES:
            self.fragrance_allergens |= names
            self._link(names)  # one allergen entry: citral, geranial, neral
        if len(entry.names) == 1 and entry.chemical_name:  # one INCI name, one substance
            self._link({fold(entry.names[0]), fold(entry.chemical_name)})
        elif len(names) > 1:  # "salicylic acid and its salts": the salts follow the acid
            head = fold(entry.names[0].split(",")[0])
            self._family_of.setdefault(head, set()).update(names)

    def _take_notice_entry(self, entry: dict[str, Any]) -> None:
        names = {
            fold(str(name["name"]))
            for name in entry.get("names", [])
            if name.get("form") != "bracketed short form"  # "racemic" names no substance
        } - {""}
        self._link(names)
        if entry.get("regulation") == FRAGRANCE_REGULATION:
            self.fragrance_allergens |= names

    def _link(self, names: set[str]) -> None:
        group = set(names)
        for name in names:
            group |= self._synonyms.get(name, set())
        for name in group:
            self._synonyms[name] = group

    def synonyms(self, name: str) -> set[str]:
        """The folded name and every name the lists give for the same substance."""
        folded = fold(name)
        return {folded, *self._synonyms.get(folded, set())}

    def covered(self, allergen: str) -> set[str]:
        """Every name an allergy to `allergen` bars: its synonyms and the names an EU entry
        headed by it lists with it (its salts and esters); never the other way round."""
        names = self.synonyms(allergen)
        return names.union(*(self._family_of.get(name, set()) for name in names))

    def listings(self, name: str) -> list[Listing]:
        return list(self._annex.get(fold(name), []))


def _number(reference: str) -> int:
    return int(reference) if reference.isdigit() else -1


@cache
def eu_lists() -> EuLists:
    return EuLists()
