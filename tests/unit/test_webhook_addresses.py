"""Where webhooks may call: metadata and other link-local addresses never; loopback and
private ones only where the operator allows them; names are checked when resolved."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import InvalidCommandError
from service_layer.webhook_addresses import host_refusal, refusal
from service_layer.webhook_resolver import GuardedResolver
from service_layer.webhook_subscribing import _checked_url


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254", "224.0.0.1", "0.0.0.0", "::"],
)
def test_link_local_multicast_and_unspecified_addresses_are_never_called(address: str) -> None:
    assert refusal(address, private_allowed=True) is not None
    assert refusal(address, private_allowed=False) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "::1", "fd00::5"])
def test_loopback_and_private_addresses_only_where_allowed(address: str) -> None:
    assert refusal(address, private_allowed=True) is None
    said = refusal(address, private_allowed=False)
    assert said is not None and "GLOW_WEBHOOK_PRIVATE_HOSTS" in said


def test_public_addresses_and_names_pass_the_subscription_check() -> None:
    assert refusal("93.184.216.34", private_allowed=False) is None
    assert host_refusal("hooks.example.com", private_allowed=False) is None
    assert host_refusal("localhost", private_allowed=False) is not None
    assert host_refusal("api.localhost.", private_allowed=False) is not None


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/h", "http://localhost/h", "https://10.0.0.7/h", "http://[::1]/h"]
)
def test_a_subscription_to_this_machine_or_network_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(InvalidCommandError, match="may not be called"):
        _checked_url(url, private_allowed=False)
    assert _checked_url(url, private_allowed=True) == url


def test_a_name_resolving_only_to_forbidden_addresses_fails_the_delivery() -> None:
    async def resolve(private_allowed: bool) -> list[str]:
        resolver = GuardedResolver(private_allowed)
        try:
            return [r["host"] for r in await resolver.resolve("localhost", 80)]
        finally:
            await resolver.close()

    with pytest.raises(OSError, match="may not call"):
        asyncio.run(resolve(private_allowed=False))
    assert "127.0.0.1" in asyncio.run(resolve(private_allowed=True))
