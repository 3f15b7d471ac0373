"""Ingredients grouped by what they do, and the skin concerns each family answers.

The fragrance family takes the EU's fragrance allergens (Regulation (EU) 2023/1545 and Annex III
entries 67-92 before it) from the shipped lists; UV filters and preservatives come from Annexes
VI and V. The other families are the formulators' usual groupings. Every family knows its
ingredients under every name the lists give them."""

from __future__ import annotations

from functools import cache

from recommender.eu_lists import eu_lists, fold

HAND_GROUPED: dict[str, tuple[str, ...]] = {
    "humectants": (
        "glycerin",
        "sodium hyaluronate",
        "hyaluronic acid",
        "hydrolyzed hyaluronic acid",
        "urea",
        "propanediol",
        "butylene glycol",
        "betaine",
        "sodium pca",
        "sorbitol",
        "panthenol",
        "trehalose",
    ),
    "exfoliating_acids": (
        "glycolic acid",
        "lactic acid",
        "mandelic acid",
        "salicylic acid",
        "gluconolactone",
        "lactobionic acid",
        "citric acid",
        "malic acid",
        "azelaic acid",
    ),
    "retinoids": (
        "retinol",
        "retinal",
        "retinyl palmitate",
        "retinyl retinoate",
        "hydroxypinacolone retinoate",
        "bakuchiol",
    ),
    "fragrance": (
        "parfum",
        "fragrance",
        "aroma",
        "linalool",
        "citronellol",
        "geraniol",
        "eugenol",
        "coumarin",
        "hexyl cinnamal",
        "benzyl salicylate",
        "citral",
    ),
    "niacinamide": ("niacinamide",),
    "antioxidants": (
        "ascorbic acid",
        "sodium ascorbyl phosphate",
        "ascorbyl glucoside",
        "3-o-ethyl ascorbic acid",
        "tocopherol",
        "tocopheryl acetate",
        "ferulic acid",
        "resveratrol",
        "camellia sinensis leaf extract",
    ),
    "ceramides": ("ceramide np", "ceramide ap", "ceramide eop", "phytosphingosine", "cholesterol"),
    "soothing": (
        "allantoin",
        "centella asiatica extract",
        "madecassoside",
        "bisabolol",
        "avena sativa kernel flour",
        "aloe barbadensis leaf juice",
        "dipotassium glycyrrhizate",
    ),
    "peptides": (
        "palmitoyl tripeptide-1",
        "palmitoyl tetrapeptide-7",
        "acetyl hexapeptide-8",
        "copper tripeptide-1",
    ),
    "oils_and_butters": (
        "butyrospermum parkii butter",
        "squalane",
        "simmondsia chinensis seed oil",
        "argania spinosa kernel oil",
        "caprylic/capric triglyceride",
        "shea butter",
    ),
    "drying_alcohol": ("alcohol denat", "alcohol", "isopropyl alcohol"),
    "clays": ("kaolin", "bentonite", "zinc pca"),
    "surfactants": (
        "sodium laureth sulfate",
        "sodium lauryl sulfate",
        "cocamidopropyl betaine",
        "decyl glucoside",
        "coco-glucoside",
        "sodium cocoyl isethionate",
    ),
}

CONCERN_FAMILIES: dict[str, tuple[str, ...]] = {
    "acne": ("exfoliating_acids", "niacinamide", "clays"),
    "ageing": ("retinoids", "peptides", "antioxidants"),
    "pigmentation": ("antioxidants", "niacinamide", "exfoliating_acids"),
    "redness": ("soothing", "ceramides"),
    "dehydration": ("humectants", "ceramides"),
    "dullness": ("exfoliating_acids", "antioxidants"),
    "pores": ("niacinamide", "exfoliating_acids", "clays"),
    "sensitivity": ("soothing", "ceramides"),
}


@cache
def _index() -> dict[str, set[str]]:
    lists = eu_lists()
    index: dict[str, set[str]] = {}
    grouped = {family: {fold(n) for n in names} for family, names in HAND_GROUPED.items()}
    grouped["fragrance"] |= lists.fragrance_allergens
    grouped["uv_filters"] = set(lists.uv_filters) | {"zinc oxide"}
    grouped["preservatives"] = set(lists.preservatives)
    for family, names in grouped.items():
        for synonym in {known for name in names for known in lists.synonyms(name)}:
            index.setdefault(synonym, set()).add(family)
    return index


def families_of(inci: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """family -> the ingredients on this list that belong to it."""
    index = _index()
    found: dict[str, list[str]] = {}
    for name in inci:
        for family in index.get(fold(name), ()):
            found.setdefault(family, []).append(name)
    return found
