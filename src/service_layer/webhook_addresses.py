"""Where webhooks may call: never a link-local address (a cloud's metadata service lives at
169.254.169.254), a multicast, unspecified or reserved one; a loopback or private address only
where the operator allows it (`GLOW_WEBHOOK_PRIVATE_HOSTS=1`: a receiver on this machine or
the same network, as in development and tests).

A URL naming an address is checked when it is subscribed; a host name is checked each time
it is resolved for a delivery (`webhook_resolver.GuardedResolver`), so a name that later
resolves to a forbidden address (DNS rebinding) is refused then, and the delivery fails and
is retried like any other."""

from __future__ import annotations

import ipaddress


def refusal(address: str, private_allowed: bool) -> str | None:
    """Why webhooks may not call `address` (an IP address), or None if they may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return f"{address} is a link-local, multicast or unspecified address"
    if ip.is_loopback or ip.is_private:  # (::1 is also in a reserved block: asked first)
        if private_allowed:
            return None
        return (
            f"{address} is a loopback or private address; set GLOW_WEBHOOK_PRIVATE_HOSTS=1 "
            "to allow receivers on this machine or network"
        )
    if ip.is_reserved:
        return f"{address} is a reserved address"
    return None


def host_refusal(host: str, private_allowed: bool) -> str | None:
    """Why a URL's host may not be subscribed: an address that may not be called, or
    `localhost` where private hosts are not allowed. Other names are checked on delivery."""
    try:
        return refusal(host, private_allowed)
    except ValueError:
        pass  # a name, not an address
    name = host.rstrip(".").lower()
    if not private_allowed and (name == "localhost" or name.endswith(".localhost")):
        return f"{host} is this machine; set GLOW_WEBHOOK_PRIVATE_HOSTS=1 to allow it"
    return None
