"""Numbers that identify people or accounts: payment cards, US SSNs, phone numbers, IPv4
addresses and IBANs.

Digits are found as *runs*: digits with at most three spaces, dots, dashes, commas or
underscores between them, so `4111 1111 1111 1111`, `4111-1111-1111-1111`, `4111,1111,...`,
`4111_1111_...` and `4 1 1 1 ...` are one run. Each run is then
classified by its digit count, grouping and checksum, which keeps order numbers, ISBNs, dates
and decimals out. One regex pass finds the runs; the rest is plain Python on the few found.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

Hit = tuple[str, int, int, str]  # (class, start, end, label) in the scanned text

# Seven or more digits and separators: the shortest thing found here is `1.2.3.4`. A simple
# pattern on purpose: the regex engine scans for it at C speed; Python refines the few found.
_RUN = re.compile(r"[0-9][0-9 .,_\-]{6,}")
_GAP = re.compile(r"[ .,_\-]{4,}")
_SENTENCE_GAP = re.compile(r"[.,] +")  # "call 555-234-5678. 10.0.0.1 is the server"
_GROUPS = re.compile(r"\d+")
_FIRST_GAP = re.compile(r"[ .,_\-]+")
_LAST_GAP = re.compile(r"[ .,_\-]+(?=\d+$)")
_RUN_END = " .,_-"
_US_PARENS = re.compile(r"\(\d{3}\)[ .\-]?\d{3}[ .\-]?\d{4}(?!\w)")
_US_PREFIX = re.compile(r"(?:\+?1[ .\-]?)$")
_IBAN_START = re.compile(r"[A-Z]{2}\d\d")
_NOT_PERSONAL_V4 = ("0.", "127.", "255.")

# IBAN length per country (SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def find_numbers(text: str) -> Iterator[Hit]:
    """Cards, SSNs, phone numbers and IPv4 addresses written as digit runs."""
    for match in _RUN.finditer(text):
        run = match.group().rstrip(_RUN_END)
        if len(run) < 7:
            continue
        for start, end in _pieces(run, match.start(), _GAP):
            yield from _run(text, start, end)
    for match in _US_PARENS.finditer(text):
        prefix = _US_PREFIX.search(text, max(0, match.start() - 3), match.start())
        start = prefix.start() if prefix else match.start()
        yield ("phone", start, match.end(), "us_phone")


def find_ibans(text: str) -> Iterator[Hit]:
    for match in _IBAN_START.finditer(text):
        start = match.start()
        length = IBAN_LENGTHS.get(match.group()[:2])
        if length is None or (start and _word_char(text[start - 1])):
            continue
        end = _iban_end(text, start, length)
        if end is not None:
            yield ("iban", start, end, "iban")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 check: move the first four characters to the end; mod 97 must be 1."""
    rearranged = iban[4:] + iban[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
    except ValueError:
        return False


def ssn_valid(digits: str) -> bool:
    """Not a range the SSA never issues: area 000, 666 or 9xx; group 00; serial 0000."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    never_issued = area in {"000", "666"} or area[0] == "9" or group == "00" or serial == "0000"
    return not never_issued and digits != "078051120"  # the famous sample card's number


def card_prefix_valid(digits: str) -> bool:
    """Issuer ranges in use (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Mir...)."""
    first, two, four = digits[0], int(digits[:2]), int(digits[:4])
    if first == "4":
        return True
    if first == "3":
        return two in {34, 36, 37, 38, 39} or 300 <= int(digits[:3]) <= 305 or 3528 <= four <= 3589
    if first == "5":
        return 50 <= two <= 58
    if first == "2":
        return 2200 <= four <= 2204 or 2221 <= four <= 2720
    return first == "6"


# -- one digit run ---------------------------------------------------------------------------


def _pieces(run: str, offset: int, gap: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Spans of `run` between separators matched by `gap` (offset into the text)."""
    start = 0
    for match in gap.finditer(run):
        yield offset + start, offset + match.start()
        start = match.end()
    yield offset + start, offset + len(run)


def _run(text: str, start: int, end: int) -> Iterator[Hit]:
    start, end = _unglue(text, start, end)
    if end - start < 7:
        return
    plus = start > 0 and text[start - 1] == "+"
    hit = _classify(text, start, end, plus)
    if hit is not None:
        yield hit
        return
    body = text[start:end]
    if not plus and _SENTENCE_GAP.search(body):  # e.g. "555-234-5678. 10.0.0.1"
        for first, last in _pieces(body, start, _SENTENCE_GAP):
            hit = _classify(text, first, last, False)
            if hit is not None:
                yield hit
    yield from _cards_within(body, start)


def _unglue(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a first or last digit group that is part of a word (`key-0000 555-234-5678`)."""
    while start < end and _glued_before(text, start):
        gap = _FIRST_GAP.search(text, start, end)
        start = gap.end() if gap else end
    while start < end and end < len(text) and _word_char(text[end]):
        gap = _LAST_GAP.search(text, start, end)
        end = gap.start() if gap else start
    return start, end


def _glued_before(text: str, start: int) -> bool:
    """The run continues a word (`abc123`, `key-0000`), or a `+` with a word before it."""
    if start == 0:
        return False
    before = text[start - 1]
    if before in "+-.":
        return start > 1 and _word_char(text[start - 2])
    return _word_char(before)


def _word_char(char: str) -> bool:
    """ASCII only: CJK text puts no space between a number and the words around it."""
    return (char.isascii() and char.isalnum()) or char == "_"


def _classify(text: str, start: int, end: int, plus: bool) -> Hit | None:
    body = text[start:end]
    groups = [len(g) for g in _GROUPS.findall(body)]
    digits = "".join(_GROUPS.findall(body))
    if len(digits) < 4:
        return None
    if _is_dotted_quad(body, groups):
        return _ipv4(text, start, end)
    if _is_decimal(body):
        return None
    kind = _kind(digits, groups, plus)
    if kind is None:
        return None
    return (kind[0], start - 1 if plus else start, end, kind[1])


def _kind(digits: str, groups: list[int], plus: bool) -> tuple[str, str] | None:
    count = len(digits)
    if plus:
        return ("phone", "international_phone") if 8 <= count <= 15 else None
    if 13 <= count <= 19 and card_prefix_valid(digits) and luhn_valid(digits):
        return ("payment_card", "payment_card")
    if count == 9 and _grouped(groups, (3, 2, 4)) and ssn_valid(digits):
        return ("ssn", "us_ssn")
    if count in {10, 11} and _us_phone(digits, groups):
        return ("phone", "us_phone")
    return None


def _grouped(groups: list[int], expected: tuple[int, ...]) -> bool:
    """Written in the usual groups, or spelled out with separators between most digits."""
    return tuple(groups) == expected or (len(groups) >= 5 and max(groups) <= 2)


def _us_phone(digits: str, groups: list[int]) -> bool:
    if len(digits) == 11:
        if digits[0] != "1":
            return False
        digits, groups = digits[1:], groups[1:] if groups[:1] == [1] else groups
    nanp = digits[0] not in "01" and digits[3] not in "01"
    return nanp and _grouped(groups, (3, 3, 4))


def _is_decimal(body: str) -> bool:
    return body.count(".") == 1 and not any(sep in body for sep in " -_")


def _is_dotted_quad(body: str, groups: list[int]) -> bool:
    return len(groups) == 4 and max(groups) <= 3 and body.count(".") == 3 and len(body) <= 15


def _ipv4(text: str, start: int, end: int) -> Hit | None:
    address = text[start:end]
    if address.startswith(_NOT_PERSONAL_V4) or text[max(0, start - 8) : start].lower().endswith(
        ("version ", "v")
    ):
        return None
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        return None
    return ("ip_address", start, end, "ipv4")


def _cards_within(body: str, start: int) -> Iterator[Hit]:
    """A card followed or preceded by other digits in one run of 20+ digits (e.g. a CVV)."""
    spans = [(m.start(), m.end()) for m in _GROUPS.finditer(body)]
    if len(spans) < 2 or sum(e - s for s, e in spans) <= 19:
        return  # up to 19 digits the run as a whole is the candidate: no guessing inside it
    for first in range(len(spans)):
        digits = ""
        for last in range(first, len(spans)):
            digits += body[spans[last][0] : spans[last][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and card_prefix_valid(digits) and luhn_valid(digits):
                yield ("payment_card", start + spans[first][0], start + spans[last][1], "card")
                return


def _iban_end(text: str, start: int, length: int) -> int | None:
    """End of an IBAN of `length` characters starting at `start` (single separators allowed:
    a space, dash, underscore, comma or dot)."""
    count, index, size = 0, start, len(text)
    while index < size and count < length:
        char = text[index]
        if char.isascii() and char.isalnum():
            count += 1
        elif not (char in " -_,." and count and index + 1 < size and text[index + 1].isalnum()):
            return None
        index += 1
    if count < length or (index < size and _word_char(text[index])):
        return None
    compact = "".join(c for c in text[start:index] if c.isalnum()).upper()
    return index if iban_valid(compact) else None
