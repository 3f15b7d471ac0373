"""Runs the domain: storage settings, group-commit writing, reservation expiry, migrations."""
