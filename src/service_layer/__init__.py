"""Runs the domain: command writer, reservation expiry, customer desk, queries, composition."""
