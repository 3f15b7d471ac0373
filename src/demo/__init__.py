"""A synthetic cosmetics business to try the ledger, the recommender, analytics and audit on."""
