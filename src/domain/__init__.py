"""The ledger's domain: aggregates, their events, domain errors and command handlers.

Imports only `eventsourcing` and the standard library.
"""
