"""The ledger's settings, read once from the environment; nothing else is imported here."""
