"""Where the chain stands: its head, the log's head, the latest checkpoint."""

from __future__ import annotations

from typing import Any

import psycopg

from audit.chain_follower import chain_head, log_head
from audit.checkpoints import recorded_checkpoints


def chain_status(conninfo: str) -> dict[str, Any]:
    with psycopg.connect(conninfo) as conn:
        head, link = chain_head(conn)
        last = log_head(conn)
    checkpoints = recorded_checkpoints(conninfo)
    return {
        "chain_head": head,
        "chain_link": link.hex(),
        "log_head": last,
        "unchained_positions": max(0, last - head),
        "latest_checkpoint": checkpoints[-1].as_dict() if checkpoints else None,
        "checkpoints": len(checkpoints),
    }
