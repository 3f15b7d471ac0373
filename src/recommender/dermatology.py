"""What the rules know about one product: its ingredients under every name the EU lists give
them, its ingredient families, and what the EU annexes say about it for its intended use."""

from __future__ import annotations

from dataclasses import dataclass

from recommender.eu_lists import EuLists, Listing, fold
from recommender.ingredient_families import families_of
from recommender.signals import ProductFacts

# The use a category's products are intended for, in the words Annex III uses.
INTENDED_USE: dict[str, tuple[str, ...]] = {
    "cleanser": ("rinse-off", "face", "skin"),
    "serum": ("leave-on", "face", "skin"),
    "moisturiser": ("leave-on", "face", "skin"),
    "sunscreen": ("leave-on", "face", "skin", "sun"),
    "body care": ("leave-on", "body", "skin"),
}
GENERAL_USE = ("other products", "all products", "all cosmetic")
SINGLE_PURCHASE = frozenset({"tools", "devices", "gift sets"})


@dataclass(frozen=True)
class ProductProfile:
    product: ProductFacts
    names: frozenset[str]  # every folded name and synonym of every ingredient
    families: dict[str, list[str]]
    eu_exclusion: str | None  # why EU rules bar it for its intended use, or None

    @property
    def fragranced(self) -> bool:
        return "fragrance" in self.families

    @property
    def single_purchase(self) -> bool:
        return self.product.category in SINGLE_PURCHASE


def profile(product: ProductFacts, lists: EuLists) -> ProductProfile:
    names: set[str] = set()
    for ingredient in product.inci:
        names |= lists.synonyms(ingredient)
    return ProductProfile(
        product, frozenset(names), families_of(product.inci), eu_exclusion(product, lists)
    )


ALLOWED_ANNEXES = ("Annex IV", "Annex V", "Annex VI")  # colourants, preservatives, UV filters


def eu_exclusion(product: ProductFacts, lists: EuLists) -> str | None:
    for ingredient in product.inci:
        listings = lists.listings(ingredient)
        # An ingredient on an allowed list (benzyl alcohol is an Annex V preservative) is not
        # barred by an Annex III row naming its other uses (Annex III 45: solvent, fragrance).
        allowed = any(listing.source in ALLOWED_ANNEXES for listing in listings)
        for listing in listings:
            reason = _listing_bars(listing, product, ingredient)
            if reason and not (allowed and listing.source == "Annex III"):
                return reason
    return None


def _listing_bars(listing: Listing, product: ProductFacts, ingredient: str) -> str | None:
    if listing.source == "Annex II":
        return f"{ingredient} is prohibited in EU cosmetics ({listing.citation})"
    if listing.source != "Annex III" or not listing.product_types:
        return None
    allowed_for = listing.product_types.casefold()
    uses = INTENDED_USE.get(product.category, ())
    if any(word in allowed_for for word in (*uses, *GENERAL_USE)):
        return None
    scope = " ".join(listing.product_types.split())
    return f"{ingredient} is allowed only in {scope[:80]} ({listing.citation})"


UNNAMED_FRAGRANCE = frozenset({"parfum", "fragrance", "aroma", "perfume"})


def allergen_hits(profile: ProductProfile, allergies: tuple[str, ...], lists: EuLists) -> list[str]:
    """The customer's allergens found in the product, under any of their names."""
    hits = []
    for allergen in allergies:
        if lists.covered(allergen) & profile.names or (
            fold(allergen) in UNNAMED_FRAGRANCE and profile.fragranced
        ):
            hits.append(allergen)
    return hits


def hidden_in_fragrance(
    profile: ProductProfile, allergies: tuple[str, ...], lists: EuLists
) -> list[str]:
    """The customer's fragrance allergens that an unnamed fragrance on the label may hold: the
    EU makes a label name them only above 0.001 % (leave-on) or 0.01 % (rinse-off)."""
    if not UNNAMED_FRAGRANCE & profile.names:
        return []
    return [a for a in allergies if lists.covered(a) & lists.fragrance_allergens]
