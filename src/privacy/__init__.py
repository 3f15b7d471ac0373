"""Personal data: contact normalisation, identity matching, per-customer keys and encryption."""
