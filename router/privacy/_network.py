"""Email addresses (also spelled out: `jane dot doe at example dot com`) and IPv6 addresses.

(IPv4 addresses are digit runs: see `_numbers.py`.) Each detector first looks for a cheap
literal anchor (`@`, `:`, ` dot `...) and runs its full pattern only near one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

Hit = tuple[str, int, int, str]

_LOCAL_TAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}$")
_DOMAIN = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![\w-])",
    re.ASCII,  # `\w` is ASCII: CJK text puts no space around an address
)
_AT = r"(?:\s*@\s*|\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+)"
_DOT = r"(?:\.|\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+)"
_LABEL = r"[A-Za-z0-9][A-Za-z0-9_%+-]*"
_SPELLED = re.compile(
    rf"(?<![\w.%+-])({_LABEL}(?:{_DOT}{_LABEL})*){_AT}({_LABEL}(?:{_DOT}{_LABEL})+)(?![\w-])",
    re.IGNORECASE | re.ASCII,
)
_OBFUSCATED = re.compile(r"[\[({<]\s*(?:at|dot)\s*[\])}>]|\sdot\s|\s@|@\s", re.IGNORECASE)
_MARKERS = (" dot ", "at]", "at)", "at}", "at>", " @", "@ ")
_LAST_LABEL = re.compile(rf"(?:{_DOT})([A-Za-z0-9-]+)$", re.IGNORECASE)
# Spelled-out addresses must end in a common top-level domain, so prose stays prose.
_TLDS = frozenset(
    {
        *("com", "net", "org", "edu", "gov", "mil", "int", "io", "co", "ai", "dev", "app"),
        *("info", "biz", "me", "us", "uk", "de", "fr", "nl", "be", "ch", "at", "es", "it"),
        *("pt", "se", "no", "dk", "fi", "ie", "pl", "cz", "ru", "ua", "ca", "au", "nz", "jp"),
        *("cn", "in", "br", "mx", "ar", "za", "eu", "tv"),
    }
)
_V6_ANCHOR = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])", re.ASCII)
_WINDOW = 120


def find_emails(text: str) -> Iterator[Hit]:
    at = text.find("@")
    while at != -1:
        hit = _email_at(text, at)
        if hit is not None:
            yield hit
        at = text.find("@", at + 1)
    lowered = text.lower()
    if any(marker in lowered for marker in _MARKERS):
        yield from _spelled(text)


def find_ips(text: str) -> Iterator[Hit]:
    """IPv6 addresses (not loopback or unspecified)."""
    seen: set[tuple[int, int]] = set()
    for anchor in _V6_ANCHOR.finditer(text):
        low, high = max(0, anchor.start() - 40), min(len(text), anchor.end() + 40)
        for match in _IPV6.finditer(text, low, high):
            if match.span() not in seen and _plausible_ipv6(match.group()):
                seen.add(match.span())
                yield ("ip_address", match.start(), match.end(), "ipv6")


def _email_at(text: str, at: int) -> Hit | None:
    local = _LOCAL_TAIL.search(text, max(0, at - 64), at)
    domain = _DOMAIN.match(text, at + 1)
    if local is None or domain is None:
        return None
    start = local.start()
    if start and (
        (text[start - 1].isascii() and text[start - 1].isalnum()) or text[start - 1] in "_%+-"
    ):
        return None
    return ("email", start, domain.end(), "email")


def _spelled(text: str) -> Iterator[Hit]:
    seen: set[tuple[int, int]] = set()
    for marker in _OBFUSCATED.finditer(text):
        low, high = max(0, marker.start() - _WINDOW), min(len(text), marker.end() + _WINDOW)
        for match in _SPELLED.finditer(text, low, high):
            if match.span() not in seen and _plausible_spelled(match):
                seen.add(match.span())
                yield ("email", match.start(), match.end(), "obfuscated_email")


def _plausible_spelled(match: re.Match[str]) -> bool:
    """Obfuscated for sure (a spelled-out `dot`, a bracketed `[at]`, a spaced `@`), ending in a
    common top-level domain: `us at example.com` is prose, `jane at example dot com` is not."""
    if not _OBFUSCATED.search(match.group()):
        return False
    last = _LAST_LABEL.search(match.group(2))
    return last is not None and last.group(1).lower() in _TLDS


def _plausible_ipv6(candidate: str) -> bool:
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    groups = [g for g in candidate.split(":") if g]
    return not address.is_loopback and not address.is_unspecified and len(groups) >= 2
