"""Endpoints a policy must not point at without saying so: cloud metadata and link-local hosts.

A request can never set an endpoint (router._request refuses `api_base` and friends), so the
policy is the only place one comes from. A policy that sends prompts (and API keys) to
169.254.169.254 or `metadata.google.internal` is almost surely a mistake or an attack; it is
refused unless `limits.allow_link_local_endpoints` is true. Hostnames are not resolved here.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_IPS = frozenset(
    {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
)


def endpoint_problem(url: str) -> str | None:
    """Why `url` is not an acceptable model endpoint, or None when it is."""
    parts = urlsplit(url if "://" in url else f"http://{url}")  # OLLAMA_HOST style host:port
    if parts.scheme not in ("http", "https"):
        return f"{parts.scheme or 'no'} scheme: model endpoints must be http:// or https:// URLs"
    host = (parts.hostname or "").rstrip(".").lower()
    if host in METADATA_HOSTS:
        return f"{host} is a cloud metadata service"
    address = _address(host)
    if address is not None and (address.is_link_local or address in METADATA_IPS):
        return f"{host} is a link-local / cloud metadata address"
    return None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP a literal host names, including forms like 2852039166 or 0xa9.0xfe.0xa9.0xfe."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, UnicodeError, ValueError):
        return None
