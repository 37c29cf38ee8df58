"""Row 9, continued: obfuscation by invisible characters and unusual separators.

`scan("card 4111\\u200e1111\\u200e1111\\u200e1111")` found nothing, and with Ollama down that
request went to gpt-5.4. Also missed: U+200F, U+2062, U+034F, U+FE0F inside cards, IBANs, keys
and emails; commas or underscores between digit groups; hex-encoded keys; text inside
`response_format`. Detection now drops characters by Unicode category (format characters and
combining marks) and scans every string the request sends. A property-based test generates
obfuscations of cards, IBANs, keys and emails.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.errors import RouterError
from router.privacy import scan
from router.testing import AnthropicServer, OpenAIServer
from tests.reliability._figures import record
from tests.reliability.test_09_sensitive_data import carried
from tests.support import LONG_PROMPT, loopback_policy, make_router

pytestmark = pytest.mark.filterwarnings("ignore:Unclosed client session:ResourceWarning")

CARD, IBAN = "4111111111111111", "DE89370400440532013000"
KEY = "sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe" * 2
EMAIL = "jane.doe@example.com"
MARKS = {"LRM": "\u200e", "RLM": "\u200f", "U+2062": "\u2062", "CGJ": "\u034f", "VS16": "\ufe0f"}


def _split(value: str, sep: str, size: int = 4) -> str:
    return sep.join(value[i : i + size] for i in range(0, len(value), size))


def _obfuscated() -> Iterator[tuple[str, str, str]]:
    """(what, class, text) for every value the review found missed."""
    for name, mark in MARKS.items():
        yield f"card split by {name}", "payment_card", "card " + _split(CARD, mark)
        yield f"IBAN split by {name}", "iban", "IBAN " + _split(IBAN, mark)
        yield f"key with {name}", "secret", "key " + KEY[:12] + mark + KEY[12:]
        yield f"email with {name}", "email", "mail " + EMAIL[:4] + mark + EMAIL[4:]
    for sep in (",", "_"):
        yield f"card grouped by {sep!r}", "payment_card", "card " + _split(CARD, sep)
        yield f"IBAN grouped by {sep!r}", "iban", "IBAN " + _split(IBAN, sep)
    yield "hex-encoded key", "secret", "blob " + KEY.encode().hex()
    yield "\\x-escaped key", "secret", "blob " + "".join(f"\\x{b:02x}" for b in KEY.encode())


CASES = list(_obfuscated())


@pytest.mark.parametrize(("what", "kind", "text"), CASES, ids=[c[0] for c in CASES])
def test_each_obfuscation_the_review_found_is_detected(what: str, kind: str, text: str) -> None:
    assert kind in {f.kind for f in scan(text)}, what


@pytest.fixture
def frontier() -> Iterator[tuple[OpenAIServer, AnthropicServer]]:
    with OpenAIServer() as openai, AnthropicServer() as anthropic:
        yield openai, anthropic


def _send(router: Any, **kwargs: Any) -> RouterError | None:
    try:
        router.complete(**kwargs)
    except RouterError as exc:
        return exc
    return None


def _visible(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c) not in {"Cf", "Mn", "Me"})


def test_obfuscated_values_never_reach_the_frontier_with_ollama_down(frontier: Any) -> None:
    """Values kept local fail (Ollama is down) with no frontier call; emails (redacted by the
    default policy) reach it only as placeholders. In `response_format`, where nothing can be
    redacted, both stay local."""
    openai, anthropic = frontier
    router, _, _ = make_router(loopback_policy("http://127.0.0.1:9", openai, anthropic))
    requests = [({"prompt": f"{LONG_PROMPT} {t}"}, _visible(t.split(" ", 1)[1])) for *_, t in CASES]
    for value in (_split(CARD, "\u200e"), EMAIL):  # outside the messages: in response_format
        schema = {"type": "object", "description": f"fill in for {value}"}
        fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
        requests.append(({"prompt": LONG_PROMPT, "response_format": fmt, "x": 1}, _visible(value)))
    leaks = []
    for kwargs, value in requests:
        before = len(openai.requests) + len(anthropic.requests)
        kept_local = "@" not in value or kwargs.pop("x", 0)
        error = _send(router, **kwargs)
        bodies = [r.body for r in (*openai.requests, *anthropic.requests)][before:]
        if carried(value, bodies) or (kept_local and (bodies or error is None)):
            leaks.append(value[:6])
    router.close()
    record(
        9,
        f"frontier calls carrying obfuscated values ({len(requests)} requests, Ollama down)",
        str(len(leaks)),
        "0",
        not leaks,
    )
    assert not leaks, leaks


@cache
def _invisible() -> tuple[str, ...]:
    """Every format character and combining mark of the BMP and the variation selectors."""
    chars = (chr(c) for c in [*range(0x80, 0x10000), *range(0xE0100, 0xE01F0)])
    found = tuple(c for c in chars if unicodedata.category(c) in {"Cf", "Mn", "Me"})
    assert len(found) > 1000 and sys.maxunicode > 0xE01EF
    return found


CARDS = ("4111111111111111", "5500000000000004", "340000000000009", "6011111111111117")
IBANS = ("DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606")
SEPARATORS = ("", " ", "-", ".", ",", "_")
BASE58 = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


@st.composite
def obfuscated(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["payment_card", "iban", "secret", "email"]))
    if kind == "payment_card":
        value = _split(draw(st.sampled_from(CARDS)), draw(st.sampled_from(SEPARATORS)))
    elif kind == "iban":
        value = _split(draw(st.sampled_from(IBANS)), draw(st.sampled_from(SEPARATORS)))
    elif kind == "secret":
        body = draw(
            st.text("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", min_size=40)
        )
        value = "sk-ant-api03-" + body
    else:
        user = draw(st.from_regex(r"[a-z]{2,10}(\.[a-z]{2,8})?", fullmatch=True))
        host = draw(st.from_regex(r"[a-z]{3,12}", fullmatch=True))
        value = f"{user}@{host}.{draw(st.sampled_from(['com', 'org', 'de', 'io']))}"
    chars = list(value)
    for _ in range(draw(st.integers(1, 6))):
        index = draw(st.integers(1, len(chars) - 1))
        chars.insert(index, draw(st.sampled_from(_invisible())))
    before = draw(st.sampled_from(["card ", "IBAN: ", "Kundendaten: ", "顧客情報は", "send to "]))
    return kind, before + "".join(chars) + draw(st.sampled_from([" please", "。", ".", ""]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obfuscated())
def test_generated_obfuscations_are_detected(case: tuple[str, str]) -> None:
    kind, text = case
    assert kind in {f.kind for f in scan(text)}, ascii(text)
