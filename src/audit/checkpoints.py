"""Checkpoints of the chain's head (position and link), exportable as JSON and signed with
HMAC-SHA256 under the key in GLOW_AUDIT_SIGNING_KEY; without that key they are unsigned."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from audit.chain_follower import chain_head
from audit.errors import AuditError

SIGNING_KEY_VARIABLE = "GLOW_AUDIT_SIGNING_KEY"
ALGORITHM = "HMAC-SHA256"


class CheckpointError(AuditError):
    """A checkpoint read from a file is not one."""

    code = "invalid-checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    head: int
    link: bytes
    created_at: datetime
    signature: str | None

    def message(self) -> bytes:
        instant = self.created_at.astimezone(UTC).isoformat()
        return f"glowledger-audit-checkpoint:v1:{self.head}:{self.link.hex()}:{instant}".encode()

    def signed_with(self, key: bytes) -> str:
        return hmac.new(key, self.message(), hashlib.sha256).hexdigest()

    def signature_valid(self, key: bytes) -> bool:
        return self.signature is not None and hmac.compare_digest(
            self.signature, self.signed_with(key)
        )

    @classmethod
    def from_dict(cls, found: Any) -> Checkpoint:
        """A checkpoint as `as_dict` writes it (`glow checkpoint --export`, a backup's
        manifest); a CheckpointError naming what is wrong otherwise."""
        try:
            head, link, created_at = found["head"], found["link"], found["created_at"]
            signature = found.get("signature")
            if not isinstance(head, int) or head < 0 or not isinstance(link, str):
                raise ValueError
            checkpoint = cls(
                head,
                bytes.fromhex(link),
                datetime.fromisoformat(created_at),
                signature if isinstance(signature, str) else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise CheckpointError(
                "not a checkpoint: expected an object with head (a log position), link (the "
                "chain's SHA-256 there, in hex), created_at (ISO 8601) and signature"
            ) from None
        if len(checkpoint.link) != 32 or checkpoint.created_at.tzinfo is None:
            raise CheckpointError(
                "not a checkpoint: its link must be 32 bytes in hex and created_at carry a zone"
            )
        return checkpoint

    def as_dict(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "link": self.link.hex(),
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "signature": self.signature,
            "algorithm": ALGORITHM if self.signature else None,
            "message": self.message().decode(),
        }


def signing_key(environ: dict[str, str] | None = None) -> bytes | None:
    raw = (os.environ if environ is None else environ).get(SIGNING_KEY_VARIABLE, "")
    return raw.encode() if raw else None


def take_checkpoint(conninfo: str, key: bytes | None, now: datetime) -> Checkpoint:
    """A checkpoint of the chain's current head, signed when a key is given."""
    with psycopg.connect(conninfo) as conn:
        head, link = chain_head(conn)
        unsigned = Checkpoint(head, link, now.astimezone(UTC), None)
        signature = unsigned.signed_with(key) if key else None
        conn.execute(
            "INSERT INTO audit_checkpoints (head, link, created_at, signature) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (head) DO NOTHING",
            (head, link, unsigned.created_at, signature),
        )
    return Checkpoint(head, link, unsigned.created_at, signature)


def recorded_checkpoints(conninfo: str) -> list[Checkpoint]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT head, link, created_at, signature FROM audit_checkpoints ORDER BY head"
        ).fetchall()
    return [Checkpoint(int(h), bytes(link), at, sig) for h, link, at, sig in rows]
