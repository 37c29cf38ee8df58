"""`scan(text)`: every piece of personal data or secret in a text, without keeping its value."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator

from router.privacy._network import find_emails, find_ips
from router.privacy._normalize import ascii_digits, normalize
from router.privacy._numbers import find_ibans, find_numbers
from router.privacy._secrets import find_secrets
from router.privacy._types import Finding, PiiClass

Hit = tuple[str, int, int, str]
_DETECTORS: tuple[Callable[[str], Iterator[Hit]], ...] = (
    find_secrets,
    find_ibans,
    find_numbers,
    find_emails,
    find_ips,
)
_WITHOUT_DIGITS = tuple(d for d in _DETECTORS if d not in (find_ibans, find_numbers))
_ASCII_DIGITS = "0123456789"
# When findings overlap, the more specific class wins (an IBAN's digits may also pass Luhn).
_PRIORITY: dict[str, int] = {
    "secret": 7,
    "iban": 6,
    "payment_card": 5,
    "ssn": 4,
    "email": 3,
    "phone": 2,
    "ip_address": 1,
}


def scan(text: str) -> list[Finding]:
    """Findings in `text`, in order. Spans index the original text, obfuscation included."""
    text = ascii_digits(text)  # same length: spans still index the caller's text
    normalized = normalize(text)
    hits = _hits(normalized.text)
    if not normalized.aligned and not all(_aligned(text, normalized.text, h) for h in hits):
        normalized = normalize(text, exact=True)  # NFKC both grew and shrank the text
        hits = _hits(normalized.text)
    findings = []
    for kind, start, end, label in _without_overlaps(hits):
        value = normalized.text[start:end]
        first, last = normalized.original_span(start, end)
        findings.append(Finding(_as_class(kind), first, last, label, mask(kind, label, value)))
    return sorted(findings, key=lambda f: f.start)


def _hits(text: str) -> list[Hit]:
    return [hit for detect in _detectors_for(text) for hit in detect(text)]


def _detectors_for(text: str) -> tuple[Callable[[str], Iterator[Hit]], ...]:
    """All detectors, less those that cannot match: IBANs, cards, SSNs, phone numbers and IPv4
    addresses all need a digit, so ASCII text without one skips them (a cheap pre-filter;
    non-ASCII text always runs them all)."""
    if text.isascii() and not any(digit in text for digit in _ASCII_DIGITS):
        return _WITHOUT_DIGITS
    return _DETECTORS


def _aligned(original: str, normalized: str, hit: Hit) -> bool:
    start, end = hit[1], hit[2]
    return unicodedata.normalize("NFKC", original[start:end]) == normalized[start:end]


def mask(kind: str, label: str, value: str) -> str:
    """A preview that identifies nothing: a class-typical prefix or the last digits at most."""
    digits = [c for c in value if c.isdigit()]
    if kind == "payment_card":
        return "**** " + "".join(digits[-4:])
    if kind == "email":
        return value[:1] + "***@***"
    if kind == "iban":
        return value[:2].upper() + "** ****"
    if kind == "secret":
        return _secret_prefix(label, value) + "****"
    return "****"


def _secret_prefix(label: str, value: str) -> str:
    prefixes = {
        "anthropic_key": "sk-ant-",
        "openai_key": "sk-",
        "aws_access_key": value[:4],
        "github_token": value[:4],
        "slack_token": value[:5],
        "private_key": "-----BEGIN ",
        "jwt": "eyJ",
    }
    return prefixes.get(label, "")


def _without_overlaps(hits: Iterable[Hit]) -> list[Hit]:
    """Keep the highest-priority, then longest, hit wherever hits overlap."""
    ranked = sorted(hits, key=lambda h: (-_PRIORITY[h[0]], h[1] - h[2], h[1]))
    kept: list[Hit] = []
    for hit in ranked:
        if all(hit[2] <= other[1] or hit[1] >= other[2] for other in kept):
            kept.append(hit)
    return kept


def _as_class(kind: str) -> PiiClass:
    assert kind in _PRIORITY, kind
    return kind  # type: ignore[return-value]
