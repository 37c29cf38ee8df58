"""Endpoints a policy must not point at without saying so: cloud metadata and link-local hosts.

A request can never set an endpoint (router._request refuses `api_base` and friends), so the
policy is the only place one comes from. A policy that sends prompts (and API keys) to
169.254.169.254 or `metadata.google.internal` is almost surely a mistake or an attack; it is
refused unless `limits.allow_link_local_endpoints` is true. Hostnames are not resolved here.

An address is checked in every spelling that reaches the same host: IPv4 in decimal, octal or
hex (`2852039166`, `0251.0376.0251.0376`), and IPv6 addresses that carry an IPv4 one
(IPv4-mapped `::ffff:169.254.169.254`, IPv4-compatible, 6to4, Teredo, NAT64 `64:ff9b::/96`).
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
    if address is not None and any(_forbidden(a) for a in _reached(address)):
        return f"{host} is a link-local / cloud metadata address"
    return None


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _forbidden(address: Address) -> bool:
    return address.is_link_local or address in METADATA_IPS


def _reached(address: Address) -> list[Address]:
    """The address and every IPv4 address it embeds (what a connection to it may reach)."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    found: list[Address] = [address]
    found += [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    found += list(address.teredo or ())
    low32 = ipaddress.IPv4Address(address.packed[12:])
    if address in _NAT64 or address.packed[:12] == bytes(12):  # NAT64, IPv4-compatible
        found.append(low32)
    return found


def _address(host: str) -> Address | None:
    """The IP a literal host names, including forms like 2852039166 or 0xa9.0xfe.0xa9.0xfe."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, UnicodeError, ValueError):
        return None
