"""Making and removing webhook subscriptions (the back office, over the API).

The signing secret is made here, on the server (`whsec_` and 32 random bytes in base64, as
Standard Webhooks names them), shown once in the answer to the subscription, and stored sealed
with the master key (AES-256-GCM, bound to the subscription's id): the table never holds it in
plaintext, and nothing reads it back but the dispatcher, to sign."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from domain.channel_rules import CHANNELS
from domain.errors import InvalidCommandError
from privacy.master_keys import MasterKeys
from service_layer.webhook_addresses import host_refusal
from service_layer.webhook_messages import EVENT_TYPES
from storage.webhook_subscriptions import SealedSecret, Subscription, SubscriptionBook

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MAX_URL_LENGTH = 2000


def subscribe(
    book: SubscriptionBook,
    keys: MasterKeys,
    head: int,
    url: str,
    event_types: Sequence[str],
    channels: Sequence[str] | None,
    private_allowed: bool = False,
) -> dict[str, Any]:
    """A subscription to events committed after the log's `head`; the answer carries the
    secret, which is never shown again."""
    checked = _checked_url(url, private_allowed)
    subscription = Subscription(
        uuid4(), checked, _checked_types(event_types), _checked_channels(channels), head
    )
    secret = SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()
    book.add(subscription, seal(keys, subscription.id, secret))
    return {**subscription.as_dict(), "secret": secret}


def seal(keys: MasterKeys, subscription_id: UUID, secret: str) -> SealedSecret:
    key_id, sealed = keys.wrap(subscription_id, secret.encode())
    return SealedSecret(key_id, sealed)


def unseal(keys: MasterKeys, subscription_id: UUID, sealed: SealedSecret) -> str:
    return keys.unwrap(subscription_id, sealed.key_id, sealed.sealed).decode()


def _checked_url(url: str, private_allowed: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
        raise InvalidCommandError(
            f"the webhook URL {url[:100]!r} is not valid: expected an http(s) URL with a host, "
            f"at most {MAX_URL_LENGTH} characters"
        )
    if parts.username or parts.password:
        raise InvalidCommandError(
            "the webhook URL must not carry credentials: the signature authenticates us"
        )
    refused = host_refusal(parts.hostname, private_allowed)
    if refused is not None:
        raise InvalidCommandError(
            f"the webhook URL {url[:100]!r} may not be called: {refused}; expected a public "
            "http(s) receiver"
        )
    return url


def _checked_types(event_types: Sequence[str]) -> tuple[str, ...]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown or not event_types:
        raise InvalidCommandError(
            f"unknown webhook event type(s) {', '.join(unknown) or '(none given)'}: expected "
            f"one or more of {', '.join(EVENT_TYPES)}"
        )
    return tuple(sorted(set(event_types)))


def _checked_channels(channels: Sequence[str] | None) -> tuple[str, ...] | None:
    if channels is None:
        return None
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown or not channels:
        raise InvalidCommandError(
            f"unknown channel(s) {', '.join(unknown) or '(none given)'}: expected one or more "
            f"of {', '.join(CHANNELS)}, or no `channels` for every channel"
        )
    return tuple(sorted(set(channels)))
