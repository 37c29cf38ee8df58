"""Privacy detectors: property tests for detection through obfuscation, false-positive bounds,
redact/restore round trips, and the policy decision."""

from __future__ import annotations

import ipaddress
import re
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from router.policy import load_policy, parse_policy
from router.privacy import classify_request, redact, restore, scan
from router.privacy._numbers import IBAN_LENGTHS, iban_valid, luhn_valid

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
_SENTENCES = (
    "the report says our team met on monday to review the plan and agreed that the next",
    "release should focus on speed quality and a cleaner design for new users who find the",
    "current flow confusing please summarise this and suggest three improvements",
)
WORDS = [word for sentence in _SENTENCES for word in sentence.split()]
DIGITS = "0123456789"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" + DIGITS
FULLWIDTH = str.maketrans(DIGITS, "".join(chr(0xFF10 + n) for n in range(10)))

prose = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join)


def kinds(text: str) -> set[str]:
    return {f.kind for f in scan(text)}


def found_exactly(text: str, start: int, end: int, kind: str) -> bool:
    return any(f.kind == kind and (f.start, f.end) == (start, end) for f in scan(text))


def embed(before: str, value: str, after: str) -> tuple[str, int, int]:
    head = f"{before} " if before else ""
    return f"{head}{value} {after}".rstrip(), len(head), len(head) + len(value)


@st.composite
def obfuscated(draw, value: str, *, fullwidth: bool = True) -> str:
    """Insert zero-width characters inside `value`; maybe turn its digits fullwidth."""
    chars = list(value)
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(1, len(chars) - 1))
        chars.insert(index, draw(st.sampled_from(ZERO_WIDTH)))
    text = "".join(chars)
    if fullwidth and draw(st.booleans()):
        text = text.translate(FULLWIDTH)
    return text


# -- payment cards ------------------------------------------------------------------------------

CARD_PREFIXES = [
    ("4", 16),
    ("4", 13),
    ("4", 19),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("3528", 16),
    ("62", 19),
    ("36", 14),
]


def luhn_complete(partial: str) -> str:
    for check in DIGITS:
        if luhn_valid(partial + check):
            return partial + check
    raise AssertionError("unreachable")


@st.composite
def card_numbers(draw) -> str:
    prefix, length = draw(st.sampled_from(CARD_PREFIXES))
    body = draw(
        st.text(DIGITS, min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1)
    )
    return luhn_complete(prefix + body)


@st.composite
def spaced(draw, digits: str, groups: tuple[int, ...] | None = None) -> str:
    """Digits grouped (4-4-4-4 style, or given groups) or spelled out, random separators."""
    style = draw(st.sampled_from(["groups", "every_digit", "plain"]))
    if style == "plain" and groups is None:
        return digits
    if style == "every_digit":
        sizes = [1] * len(digits)
    else:
        sizes = (
            list(groups)
            if groups
            else [4] * (len(digits) // 4) + ([len(digits) % 4] if len(digits) % 4 else [])
        )
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    out = parts[0]
    for part in parts[1:]:
        out += draw(st.sampled_from([" ", "-", ".", " - ", "  "])) + part
    return out


@pytest.mark.slow  # 300 hypothesis examples
@settings(max_examples=300, deadline=None)
@given(data=st.data(), before=prose, after=prose)
def test_valid_cards_are_found_through_separators_and_obfuscation(data, before, after):
    digits = data.draw(card_numbers())
    value = data.draw(obfuscated(data.draw(spaced(digits))))
    text, start, end = embed(before, value, after)
    assert found_exactly(text, start, end, "payment_card"), text


@pytest.mark.slow  # 300 hypothesis examples
@settings(max_examples=300, deadline=None)
@given(data=st.data(), before=prose, after=prose)
def test_numbers_failing_luhn_are_not_cards(data, before, after):
    digits = data.draw(card_numbers())
    wrong = digits[:-1] + str((int(digits[-1]) + data.draw(st.integers(1, 9))) % 10)
    assert not luhn_valid(wrong)
    value = data.draw(spaced(wrong))
    text, _, _ = embed(before, value, after)
    assert "payment_card" not in kinds(text), text


def test_known_test_cards():
    for number in [
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "3400 000000 00009",
        "6011000000000004",
    ]:
        assert kinds(f"card: {number}.") == {"payment_card"}, number


def test_card_preview_shows_last_four_only():
    (finding,) = scan("pay with 4111 1111 1111 1234 now".replace("1234", "1111"))
    assert finding.preview == "**** 1111"
    assert "4111 1111" not in repr(finding)


# -- SSNs ------------------------------------------------------------------------------------------


@st.composite
def valid_ssns(draw) -> str:
    area = draw(st.integers(1, 899).filter(lambda a: a != 666))
    group = draw(st.integers(1, 99))
    serial = draw(st.integers(1, 9999))
    return f"{area:03d}{group:02d}{serial:04d}"


@pytest.mark.slow  # 200 hypothesis examples
@settings(max_examples=200, deadline=None)
@given(data=st.data(), before=prose, after=prose)
def test_ssns_are_found(data, before, after):
    digits = data.draw(valid_ssns())
    value = data.draw(spaced(digits, groups=(3, 2, 4)))
    assume(value != digits)  # a bare 9-digit number is not treated as an SSN
    value = data.draw(obfuscated(value))
    text, start, end = embed(before, value, after)
    assert found_exactly(text, start, end, "ssn"), text


@pytest.mark.parametrize(
    "ssn", ["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000"]
)
def test_never_issued_ssns_are_ignored(ssn):
    assert "ssn" not in kinds(f"SSN {ssn}")


# -- IBANs -----------------------------------------------------------------------------------------

IBAN_FORMATS = {
    "DE": "n18",
    "GB": "a4n14",
    "FR": "n10c11n2",
    "NL": "a4n10",
    "ES": "n20",
    "IT": "a1n10c12",
    "CH": "n5c12",
    "BE": "n12",
    "PL": "n24",
    "NO": "n11",
}


@st.composite
def ibans(draw) -> str:
    country = draw(st.sampled_from(sorted(IBAN_FORMATS)))
    alphabets = {"n": DIGITS, "a": ALNUM[:26], "c": ALNUM[:26] + DIGITS}
    bban = "".join(
        draw(st.text(alphabets[kind], min_size=int(size), max_size=int(size)))
        for kind, size in re.findall(r"([nac])(\d+)", IBAN_FORMATS[country])
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    iban = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    assert len(iban) == IBAN_LENGTHS[country] and iban_valid(iban)
    return iban


@settings(max_examples=200, deadline=None)
@given(data=st.data(), before=prose, after=prose)
def test_ibans_are_found_compact_or_grouped(data, before, after):
    iban = data.draw(ibans())
    if data.draw(st.booleans()):
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    text, start, end = embed(before, iban, after)
    assert found_exactly(text, start, end, "iban"), text


def test_iban_with_a_wrong_check_digit_is_ignored():
    assert kinds("IBAN DE89 3704 0044 0532 0130 00") == {"iban"}
    assert "iban" not in kinds("IBAN DE88 3704 0044 0532 0130 00")


# -- emails ----------------------------------------------------------------------------------------

labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10).filter(
    lambda s: s[0].isalpha()
)


@st.composite
def emails(draw) -> tuple[str, str]:
    user = draw(st.lists(labels, min_size=1, max_size=2))
    domain = draw(st.lists(labels, min_size=1, max_size=2))
    tld = draw(st.sampled_from(["com", "org", "io", "de", "co", "net"]))
    style = draw(
        st.sampled_from(["plain", "spelled", "brackets", "parens", "fullwidth", "zero_width"])
    )
    at, dot = {
        "plain": ("@", "."),
        "fullwidth": ("\uff20", "."),
        "zero_width": ("@", "."),
        "spelled": (" at ", " dot "),
        "brackets": (" [at] ", " [dot] "),
        "parens": ("(at)", "(dot)"),
    }[style]
    local = ".".join(user) if style != "spelled" else dot.join(user)
    address = local + at + dot.join([*domain, tld])
    if style == "zero_width":
        address = draw(obfuscated(address, fullwidth=False))
    return style, address


@pytest.mark.slow  # 300 hypothesis examples
@settings(max_examples=300, deadline=None)
@given(pair=emails(), before=prose, after=prose)
def test_emails_are_found_including_obfuscated_forms(pair, before, after):
    _, address = pair
    text, start, end = embed(before, address, after)
    assert found_exactly(text, start, end, "email"), text


def test_prose_with_at_and_dot_is_not_an_email():
    for text in [
        "Contact us at example.com today.",
        "Look at the dot product of a and b.",
        "Meet me at noon. Then dot the i's.",
        "a@b is not an address",
    ]:
        assert "email" not in kinds(text), text


# -- phones and IPs --------------------------------------------------------------------------------


@st.composite
def phones(draw) -> str:
    area = draw(st.integers(200, 999))
    exchange = draw(st.integers(200, 999))
    line = draw(st.integers(0, 9999))
    return draw(
        st.sampled_from(
            [
                f"({area}) {exchange}-{line:04d}",
                f"{area}-{exchange}-{line:04d}",
                f"{area}.{exchange}.{line:04d}",
                f"+1 {area} {exchange} {line:04d}",
                f"1-{area}-{exchange}-{line:04d}",
                f"+1 ({area}) {exchange}-{line:04d}",
                f"+44 20 {exchange}{line % 10} {line:04d}",
                f"+49 30 {area}{exchange} {line:04d}",
                f"+33 6 {area % 100:02d} {exchange % 100:02d} {line % 100:02d} {line // 100:02d}",
            ]
        )
    )


@pytest.mark.slow  # 200 hypothesis examples
@settings(max_examples=200, deadline=None)
@given(data=st.data(), before=prose, after=prose)
def test_phone_numbers_are_found(data, before, after):
    value = data.draw(obfuscated(data.draw(phones()), fullwidth=True))
    text, start, end = embed(before, value, after)
    assert found_exactly(text, start, end, "phone"), text


@pytest.mark.slow  # hypothesis examples
@settings(max_examples=200, deadline=None)
@given(
    first=st.integers(1, 254).filter(lambda n: n != 127),
    rest=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    v6=st.integers(1 << 100, 2**128 - 1),
    before=prose,
    after=prose,
)
def test_ip_addresses_are_found(first, rest, v6, before, after):
    v4 = str(ipaddress.IPv4Address(".".join(map(str, (first, *rest)))))
    text, start, end = embed(before, v4, after)
    assert found_exactly(text, start, end, "ip_address"), text
    text, start, end = embed(before, str(ipaddress.IPv6Address(v6)), after)
    assert found_exactly(text, start, end, "ip_address"), text


# -- secrets ---------------------------------------------------------------------------------------


@st.composite
def secrets(draw) -> str:
    def rand(alphabet: str, size: int) -> str:
        return draw(st.text(alphabet, min_size=size, max_size=size))

    upper_digits = ALNUM[:26] + DIGITS
    return draw(
        st.sampled_from(
            [
                "sk-proj-" + rand(ALNUM, 48),
                "sk-" + rand(ALNUM, 32),
                "sk-ant-api03-" + rand(ALNUM + "-_", 40),
                "AKIA" + rand(upper_digits, 16),
                "ghp_" + rand(ALNUM, 36),
                "xoxb-" + rand(DIGITS, 12) + "-" + rand(ALNUM, 24),
                "github_pat_" + rand(ALNUM, 40),
            ]
        )
    )


@pytest.mark.slow  # 300 hypothesis examples
@settings(max_examples=300, deadline=None)
@given(data=st.data(), before=prose, after=prose)
def test_api_keys_are_found_with_zero_width_characters_inside(data, before, after):
    key = data.draw(obfuscated(data.draw(secrets()), fullwidth=False))
    text, start, end = embed(before, key, after)
    assert found_exactly(text, start, end, "secret"), text
    assert all(key not in repr(f) for f in scan(text))


@given(
    before=prose,
    after=prose,
    glue=st.sampled_from(["", "=", ":", '"', "\t", "\n", " "]),
    escaped=st.booleans(),
)
def test_hex_encoded_keys_are_found_wherever_the_words_around_them_end(
    before, after, glue, escaped
):
    """Only long whitespace-free words are searched for hex runs (a pre-filter): a run glued
    to other characters, or at either end of the text, is still found."""
    key = "sk-ant-api03-" + "Zx81kLmQ2vBc7Hd9Pq4Rs6Tu"
    encoded = "".join(f"\\x{b:02x}" for b in key.encode()) if escaped else key.encode().hex()
    head = f"{before} {glue}" if before else glue
    text = f"{head}{encoded}{glue} {after}".rstrip()
    assert found_exactly(text, len(head), len(head) + len(encoded), "secret"), text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("api_key=Zx81kLmQ2vB", "Zx81kLmQ2vB"),
        ('PASSWORD: "correct-horse-battery"', "correct-horse-battery"),
        ("Authorization: Bearer abc123def456ghi789jkl", "abc123def456ghi789jkl"),
        (
            "aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY0 here",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY0",
        ),
    ],
)
def test_generic_secrets(text, value):
    (finding,) = scan(text)
    assert (finding.kind, text[finding.start : finding.end]) == ("secret", value)
    assert value not in repr(finding)


def test_pem_private_key_is_one_finding():
    pem = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\nAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----"
    )
    (finding,) = scan(f"my key:\n{pem}\nthanks")
    assert finding.kind == "secret" and finding.end - finding.start == len(pem)


@pytest.mark.parametrize(
    "text",
    [
        "token = get_token()",
        "secret = os.environ['SECRET']",
        "password: ${DB_PASSWORD}",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "class AbstractSingletonProxyFactoryBean2Impl: pass",
        "see src/components/UserProfile2/IndexPage.tsx",
    ],
)
def test_code_is_not_a_secret(text):
    assert "secret" not in kinds(text)


# -- false positives -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.sampled_from(WORDS), max_size=60),
    punct=st.sampled_from([".", ",", "!", "?", ";"]),
)
def test_ordinary_prose_has_no_findings(words, punct):
    assert scan(f"{' '.join(words)}{punct}") == []


def isbn13(body: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


@settings(max_examples=300, deadline=None)
@given(
    isbn=st.text(DIGITS, min_size=9, max_size=9),
    order=st.integers(10**5, 10**12 - 1),
    date=st.dates(),
    price=st.integers(0, 10**7),
    version=st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 300)),
)
def test_isbns_order_numbers_dates_prices_and_versions_have_no_findings(
    isbn, order, date, price, version
):
    full = isbn13("978" + isbn)
    hyphenated = f"{full[:3]}-{full[3]}-{full[4:7]}-{full[7:12]}-{full[12]}"
    text = (
        f"ISBN {hyphenated} (ISBN-13 {full}). Order #{order} placed {date.isoformat()} "
        f"for ${price / 100:,.2f}. Upgrade to version {'.'.join(map(str, version))} today."
    )
    assert scan(text) == [], text


# -- redact and restore ----------------------------------------------------------------------------


@pytest.mark.slow  # 200 hypothesis examples
@settings(max_examples=200, deadline=None)
@given(data=st.data(), words=st.lists(prose, min_size=4, max_size=4))
def test_redact_then_restore_round_trips(data, words):
    values = [
        data.draw(card_numbers()),
        data.draw(emails())[1],
        data.draw(secrets()),
        data.draw(phones()),
    ]
    text = " ".join(f"{w} {v}" for w, v in zip(words, values, strict=True)) + " end"
    findings = scan(text)
    redacted, mapping = redact(text, findings)
    for value in values:
        assert value not in redacted
    assert restore(redacted, mapping) == text
    assert all(v not in repr(mapping) for v in values)


def test_same_value_gets_the_same_placeholder_across_messages():
    policy = load_policy()
    texts = ["Mail jane@example.com please", "system: the user is jane@example.com, ip 10.1.2.3"]
    decision = classify_request(policy, texts)
    redacted, mapping = decision.redact(texts)
    assert redacted == ["Mail [EMAIL_1] please", "system: the user is [EMAIL_1], ip [IP_ADDRESS_1]"]
    answer = "I wrote to [email_1] from [ IP_ADDRESS_1 ]; [PHONE_9] is unknown."
    assert (
        restore(answer, mapping)
        == "I wrote to jane@example.com from 10.1.2.3; [PHONE_9] is unknown."
    )


def test_placeholders_already_in_the_text_are_not_reused():
    text = "literal [EMAIL_1] and real bob@example.org"
    redacted, mapping = redact(text, scan(text))
    assert redacted == "literal [EMAIL_1] and real [EMAIL_2]"
    assert restore(redacted, mapping) == "literal [EMAIL_1] and real bob@example.org"


# -- the policy decision ---------------------------------------------------------------------------


def test_classify_request_takes_the_strongest_action_and_holds_no_values():
    text = "card 4111 1111 1111 1111, mail jane@example.com"
    decision = classify_request(load_policy(), [text])
    assert decision.action == "keep_local"
    assert decision.classes == ("payment_card", "email")
    assert decision.reason == "payment_card x1: keep_local; email x1: redact"
    assert "4111 1111" not in repr(decision) and "jane@" not in repr(decision)
    redacted, _ = decision.redact([text])
    assert redacted == ["card 4111 1111 1111 1111, mail [EMAIL_1]"]  # keep_local data stays put


def test_classify_request_follows_the_policy():
    strict = classify_request(load_policy("privacy-strict"), ["key AKIAIOSFODNN7EXAMPLE"])
    assert (strict.action, strict.classes) == ("refuse", ("secret",))
    relaxed = parse_policy("privacy: {pii: {email: allow}}")
    assert classify_request(relaxed, ["jane@example.com"]).action == "allow"
    off = parse_policy("privacy: {detect_pii: false}")
    assert classify_request(off, ["4111 1111 1111 1111"]).action == "allow"
    assert (
        classify_request(load_policy(), ["nothing to see"]).reason
        == "no personal data or secrets found"
    )


# -- speed -----------------------------------------------------------------------------------------


def test_scanning_a_2000_char_prompt_is_fast():
    text = (" ".join(WORDS) + " order 12345 on 2024-05-01 for $12.50; ")[
        :1900
    ] + " mail jane@example.com"
    text = (text * 2)[:2000]
    scan(text)
    rounds = 200
    started = time.process_time()
    for _ in range(rounds):
        scan(text)
    per_scan = (time.process_time() - started) / rounds
    assert per_scan < 0.005  # typically 0.1-0.3 ms; the bound only catches pathological slowdowns
