"""Service URLs whose query mixes the ledger's own options with the client's: the ledger
takes its own out and leaves the rest to the client unchanged (`rediss://...?namespace=x&
ssl_cert_reqs=required&ssl_ca_certs=/etc/glow/ca.pem` -> the namespace, and a URL redis-py
reads its TLS settings from)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit


def take_query_parameter(url: str, name: str, default: str) -> tuple[str, str]:
    """(`url` without the parameter `name`, its value or `default`); every other parameter
    stays, in its order."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    value = next((v for k, v in reversed(pairs) if k == name), default)
    rest = urlencode([(k, v) for k, v in pairs if k != name])
    return parts._replace(query=rest).geturl(), value
