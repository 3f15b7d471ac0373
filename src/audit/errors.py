"""What an audit question can be refused for; the API maps each class to one status."""

from __future__ import annotations


class AuditError(Exception):
    code = "audit-error"


class UnknownAggregateError(AuditError):
    """No event was ever recorded for the aggregate asked about (404)."""

    code = "unknown-aggregate"


class NotYetExistingError(UnknownAggregateError):
    """The aggregate exists now but did not at the instant asked about (404)."""

    code = "not-yet-existing"


class InvalidAuditQueryError(AuditError):
    """An instant, kind or key the question cannot be answered for (422)."""

    code = "invalid-audit-query"


class ChainUnavailableError(AuditError):
    """The hash chain is kept only in PostgreSQL (the embedded SQLite store has none)."""

    code = "chain-unavailable"
