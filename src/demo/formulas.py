"""What goes into a synthetic product: label-order INCI lists per category, actives per concern."""

from __future__ import annotations

BASES: dict[str, tuple[str, ...]] = {
    "cleanser": ("AQUA", "SODIUM COCOYL ISETHIONATE", "COCAMIDOPROPYL BETAINE", "GLYCERIN"),
    "serum": ("AQUA", "PROPANEDIOL", "BUTYLENE GLYCOL", "SODIUM HYALURONATE"),
    "moisturiser": ("AQUA", "GLYCERIN", "CAPRYLIC/CAPRIC TRIGLYCERIDE", "CETEARYL ALCOHOL"),
    "sunscreen": ("AQUA", "C12-15 ALKYL BENZOATE", "GLYCERIN"),
    "body care": ("AQUA", "BUTYROSPERMUM PARKII BUTTER", "GLYCERIN", "CETEARYL ALCOHOL"),
    "tools": (),
}
UV_FILTERS = (
    ("ZINC OXIDE",),
    ("TITANIUM DIOXIDE", "ZINC OXIDE"),
    ("HOMOSALATE", "ETHYLHEXYL SALICYLATE", "BUTYL METHOXYDIBENZOYLMETHANE"),
)
ACTIVES: dict[str, tuple[str, ...]] = {
    "acne": ("SALICYLIC ACID", "NIACINAMIDE", "ZINC PCA", "AZELAIC ACID"),
    "ageing": ("RETINOL", "PALMITOYL TRIPEPTIDE-1", "HYDROXYPINACOLONE RETINOATE", "BAKUCHIOL"),
    "pigmentation": ("ASCORBIC ACID", "NIACINAMIDE", "AZELAIC ACID", "TRANEXAMIC ACID"),
    "redness": ("CENTELLA ASIATICA EXTRACT", "ALLANTOIN", "BISABOLOL", "MADECASSOSIDE"),
    "dehydration": ("SODIUM HYALURONATE", "UREA", "PANTHENOL", "CERAMIDE NP"),
    "dullness": ("GLYCOLIC ACID", "LACTIC ACID", "ASCORBIC ACID", "MANDELIC ACID"),
    "pores": ("NIACINAMIDE", "SALICYLIC ACID", "KAOLIN", "ZINC PCA"),
    "sensitivity": ("AVENA SATIVA KERNEL FLOUR", "CERAMIDE NP", "ALLANTOIN", "PANTHENOL"),
}
SKIN_EXTRAS: dict[str, tuple[str, ...]] = {
    "dry": ("SQUALANE", "SIMMONDSIA CHINENSIS SEED OIL", "CERAMIDE NP", "CHOLESTEROL"),
    "oily": ("KAOLIN", "ZINC PCA", "SILICA"),
    "combination": ("NIACINAMIDE", "SILICA"),
    "normal": ("TOCOPHEROL",),
    "sensitive": ("ALLANTOIN", "BISABOLOL", "PANTHENOL"),
}
FRAGRANCE = ("PARFUM", "LIMONENE", "LINALOOL", "CITRONELLOL", "GERANIOL", "HEXYL CINNAMAL")
PRESERVATIVES = (
    ("PHENOXYETHANOL", "ETHYLHEXYLGLYCERIN"),
    ("SODIUM BENZOATE", "POTASSIUM SORBATE"),
    ("BENZYL ALCOHOL", "DEHYDROACETIC ACID"),
)
# Found on a few imported marketplace listings; banned in EU cosmetics (Annex II).
BANNED = ("HYDROQUINONE",)
BRANDS = (
    "Lumen",
    "Aveline",
    "Northskin",
    "Mareva",
    "Botanica Lab",
    "Clearwell",
    "Solenne",
    "Kindred",
    "Oro",
    "Pura Vida",
    "Fjord",
    "Atelier M",
)
NAMES: dict[str, tuple[str, ...]] = {
    "cleanser": (
        "Gel Cleanser",
        "Cream Cleanser",
        "Foaming Wash",
        "Cleansing Balm",
        "Micellar Water",
    ),
    "serum": ("Serum", "Booster", "Concentrate", "Essence", "Ampoule"),
    "moisturiser": ("Day Cream", "Gel Cream", "Night Cream", "Moisture Lotion", "Barrier Cream"),
    "sunscreen": ("Fluid SPF50", "Sun Cream SPF30", "Daily Shield SPF50", "Mineral SPF30"),
    "body care": ("Body Lotion", "Body Butter", "Shower Oil", "Hand Cream", "Body Scrub"),
    "tools": ("Cleansing Brush", "Jade Roller", "Gua Sha", "LED Mask"),
}
CONCERN_WORDS = {
    "acne": "Clarifying",
    "ageing": "Renewing",
    "pigmentation": "Brightening",
    "redness": "Calming",
    "dehydration": "Hydrating",
    "dullness": "Radiance",
    "pores": "Pore-Refining",
    "sensitivity": "Comfort",
}
