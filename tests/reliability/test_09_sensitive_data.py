"""Row 9, sensitive data: PII and secrets in many forms, the local model down, fallbacks set.

Every value is sent through the real `Router` (shipped `default` privacy rules, two frontier
models configured as fallbacks, Ollama unreachable) in a matrix of forms (separators,
zero-width characters, fullwidth digits, spelled-out addresses), languages (including Japanese
and Chinese, which put no space around a number) and places (the last user message, the system
message, an earlier turn, a list of text parts), streamed or not. Every body the frontier
servers received is searched for the value after undoing the obfuscation.

Figure: frontier calls carrying a sensitive value (target 0). Values the policy keeps local
must fail with a typed error and make no frontier call at all; values it redacts may go out,
as placeholders only.
"""

from __future__ import annotations

import itertools
import json
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest

from router import Router
from router.errors import RouterError
from router.testing import AnthropicServer, OpenAIServer
from tests.reliability._figures import record
from tests.support import LONG_PROMPT, loopback_policy, make_router

# litellm caches one aiohttp session per event loop and never closes the sessions of a Router
# that was closed (LiteLLMBackend.aclose has nothing to close); when its cache evicts one, the
# session warns as it is collected, in whichever test runs then. Known, reported, not this row.
pytestmark = pytest.mark.filterwarnings("ignore:Unclosed client session:ResourceWarning")
ZW = "\u200b"
FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + n) for n in range(10)))
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + n) for n in range(10)))
DEVANAGARI = str.maketrans("0123456789", "".join(chr(0x0966 + n) for n in range(10)))
OPENAI_KEY = "sk-proj-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5L7z9X2c4V6b8"

KEEP_LOCAL = {
    "card": "4111 1111 1111 1111",
    "card dashed": "5500-0000-0000-0004",
    "card zero-width": ZW.join(["4012", "8888", "8888", "1881"]),
    "card fullwidth": "3782 822463 10005".translate(FULLWIDTH),
    "card no-break spaces": "6011\u00a01111\u00a01111\u00a01117",
    "card arabic-indic digits": "4111 1111 1111 1111".translate(ARABIC_INDIC),
    "card devanagari digits": "5105 1051 0510 5100".translate(DEVANAGARI),
    "ssn": "219-09-9999",
    "ssn fullwidth": "536-22-1234".translate(FULLWIDTH),
    "iban": "DE89 3704 0044 0532 0130 00",
    "iban compact": "GB82WEST12345698765432",
    "openai key": OPENAI_KEY,
    "openai key zero-width": OPENAI_KEY[:10] + ZW + OPENAI_KEY[10:],
    "anthropic key": "sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe" * 2,
    "aws key": "AKIA" + "Z7Q2M4X8C6V1B3N5",
    "github token": "ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a",
    "password": "password: correct-horse-battery-staple",
    "bearer": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9abc123def456ghi789",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
    "-----END RSA PRIVATE KEY-----",
}
REDACTED = {
    "email": "jane.doe@example.com",
    "email fullwidth at": "max.mustermann\uff20example.de",
    "email spelled": "li dot wei at example dot cn",
    "phone": "+49 30 901820",
    "ip": "203.0.113.77",
}
LANGUAGES = (
    "Customer record: {} - please check it.",
    "Kundendaten: {}. Bitte prüfen.",
    "顧客情報は{}です。確認してください。",
    "客户资料\uff1a{}\uff0c请核对。",
    "Данные клиента: {} — проверьте, пожалуйста.",
    "بيانات العميل: {} يرجى التحقق",
)
PLACES = ("last user", "system", "earlier turn", "text parts")


def messages(text: str, place: str) -> list[dict[str, Any]]:
    ask = f"{LONG_PROMPT} Answer in two sentences."
    if place == "system":
        return [{"role": "system", "content": text}, {"role": "user", "content": ask}]
    if place == "earlier turn":
        return [
            {"role": "user", "content": text},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": ask},
        ]
    if place == "text parts":
        parts = [{"type": "text", "text": ask}, {"type": "text", "text": text}]
        return [{"role": "user", "content": parts}]
    return [{"role": "user", "content": f"{ask} {text}"}]


def canonical(text: str) -> str:
    """ASCII letters and digits only, after NFKC and with the digits of every script as ASCII:
    obfuscation and separators undone."""
    text = unicodedata.normalize("NFKC", text.replace(ZW, "").replace("\u00ad", ""))
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    return "".join(c for c in text if c.isascii() and c.isalnum()).lower()


def carried(value: str, bodies: list[Any]) -> int:
    needle = canonical(value.split(":", 1)[-1])
    return sum(needle in canonical(json.dumps(b, ensure_ascii=False)) for b in bodies)


def cases(values: dict[str, str]) -> Iterator[tuple[str, str, str, str, bool]]:
    langs = itertools.cycle(LANGUAGES)
    for (name, value), place in itertools.product(values.items(), PLACES):
        lang = next(langs)
        yield name, value, place, lang.format(value), len(lang) % 2 == 0


def send(router: Router, text: str, place: str, stream: bool) -> Exception | None:
    try:
        if stream:
            list(router.stream(messages=messages(text, place)))
        else:
            router.complete(messages=messages(text, place))
    except RouterError as exc:
        return exc
    return None


@pytest.fixture
def frontier_servers() -> Iterator[tuple[OpenAIServer, AnthropicServer]]:
    with OpenAIServer() as openai, AnthropicServer() as anthropic:
        yield openai, anthropic


def run(values: dict[str, str], servers: Any) -> tuple[list[str], int, int, list[Exception]]:
    openai, anthropic = servers
    router, _, _ = make_router(loopback_policy("http://127.0.0.1:9", openai, anthropic))
    leaks, calls, errors = [], 0, []
    try:
        for name, value, place, text, stream in cases(values):
            before = len(openai.requests) + len(anthropic.requests)
            error = send(router, text, place, stream)
            bodies = [r.body for r in (*openai.requests, *anthropic.requests)][before:]
            calls += len(bodies)
            if carried(value, bodies):
                leaks.append(f"{name} / {place} / {text[:30]!r}")
            if error is not None:
                errors.append(error)
                assert value not in str(error) and canonical(value) not in canonical(str(error))
    finally:
        router.close()
    return leaks, calls, len(values) * len(PLACES), errors


def test_values_kept_local_never_reach_the_frontier(frontier_servers: Any) -> None:
    leaks, calls, total, errors = run(KEEP_LOCAL, frontier_servers)
    record(
        9,
        f"frontier calls carrying PII/secrets kept local ({total} requests)",
        str(len(leaks)),
        "0",
        not leaks,
    )
    assert not leaks, leaks
    assert calls == 0  # not even a redacted copy: the policy keeps these local
    assert len(errors) == total  # local is down: each one fails, typed, instead of escalating


def test_redacted_values_reach_the_frontier_only_as_placeholders(frontier_servers: Any) -> None:
    leaks, calls, total, errors = run(REDACTED, frontier_servers)
    record(
        9,
        f"frontier calls carrying redacted PII ({total} requests, {calls} calls)",
        str(len(leaks)),
        "0",
        not leaks,
    )
    assert not leaks, leaks
    assert not errors and calls >= total  # answered by the fallback frontier models


def test_the_check_would_see_a_leak() -> None:
    body = {"messages": [{"content": f"card 4111\u200b1111 {'1111'.translate(FULLWIDTH)} 1111"}]}
    assert carried("4111 1111 1111 1111", [body]) == 1
    assert carried("password: hunter2-hunter2", [{"m": "pw hunter2-hunter2"}]) == 1
    arabic = "4111 1111".translate(ARABIC_INDIC)
    assert carried(arabic, [{"m": "4111-1111"}]) == carried("41111111", [{"m": arabic}]) == 1
