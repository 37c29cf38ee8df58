"""The fast pre-call path gives the same answers as the slow one it replaced.

`build_request` skips the exact token count when an upper bound (UTF-8 bytes) already shows the
prompt fits; `RoutedRequest.prompt_tokens` then counts on first use. These tests pin that the
bound is an upper bound, that the count is still exact where it is read, and that the limits
still refuse what they refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router._request import RoutedRequest, build_request, count_prompt_tokens
from router.backends._usage import estimate_tokens, max_tokens_of
from router.errors import PromptTooLongError
from router.policy import Limits, Policy
from router.privacy import _scan, scan
from router.privacy._normalize import _OTHER_DIGIT

SAMPLES = (
    "",
    "a",
    "hello world",
    "x" * 5000,
    "日本語のテキストです。" * 50,
    "emoji 🎉🎉🎉 and accents éèê",
    "\u200b\u200c zero width",
    "<|endoftext|> special tokens are plain text here",
    "\ud800 lone surrogate",
)


def build(policy: Policy, prompt: str) -> RoutedRequest:
    args: dict[str, Any] = dict.fromkeys(
        (
            "messages",
            "metadata",
            "sensitive",
            "max_tokens",
            "temperature",
            "response_format",
            "request_id",
        )
    )
    return build_request(policy, prompt=prompt, unknown={}, **args)


@pytest.mark.parametrize("text", SAMPLES)
def test_the_byte_bound_is_an_upper_bound(text: str) -> None:
    assert estimate_tokens(text) <= max_tokens_of(text)


@pytest.mark.slow  # 200 hypothesis examples
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_the_byte_bound_holds_for_any_text(text: str) -> None:
    assert estimate_tokens(text) <= max_tokens_of(text)


@pytest.mark.parametrize("text", ["What is 2 + 2?", "日本語で答えて。" * 40, "word " * 3000])
def test_prompt_tokens_is_the_exact_count_when_read(text: str) -> None:
    request = build(Policy(), text)
    assert request.token_count is None  # fits by the bound: not counted yet
    assert request.prompt_tokens == estimate_tokens(text) + 4
    assert request.token_count == request.prompt_tokens  # counted once, then cached


def test_a_prompt_near_the_limit_is_counted_once_and_kept() -> None:
    text = "word " * 300  # 1,500 bytes, about 300 tokens
    policy = Policy(limits=Limits(max_prompt_tokens=1_000))
    request = build(policy, text)
    assert request.token_count == count_prompt_tokens(request.messages)


def test_a_prompt_over_the_token_limit_is_still_refused() -> None:
    policy = Policy(limits=Limits(max_prompt_tokens=100))
    with pytest.raises(PromptTooLongError, match="max_prompt_tokens"):
        build(policy, "word " * 200)  # 200 tokens: bound and count both over
    assert build(policy, "word " * 90).prompt_tokens < 100  # bound 450 > 100, count fits


def test_an_explicit_count_is_used_as_given() -> None:
    request = RoutedRequest("r", ({"role": "user", "content": "hi"},), False, token_count=7)
    assert request.prompt_tokens == 7


# -- PII scan pre-filters -------------------------------------------------------------------

_PII_ALPHABET = "0123456789 -.@:()+/_\nABCDEFGHIJKLMNOPQRSTUVWXYZabcdefkstxyz\u0663\uff11"
_PII_SAMPLES = (
    "card 4111 1111 1111 1111",
    "iban GB82 WEST 1234 5698 7654 32",
    "ssn 123-45-6789, phone (555) 234-5678, ip 10.1.2.3",
    "no digits at all, only words and jane@example.com",
    "stripe sk_live_abcdefghijklmnop1234 and rk_test_ABCDEFGHIJKLMNOP5678",
    "fullwidth " + " ".join(["\uff14\uff11\uff11\uff11"] + ["\uff11" * 4] * 3),
)


def _all_hits(text: str) -> list[tuple[str, int, int, str]]:
    return [hit for detect in _scan._DETECTORS for hit in detect(text)]


def _filtered_hits(text: str) -> list[tuple[str, int, int, str]]:
    return [hit for detect in _scan._detectors_for(text) for hit in detect(text)]


@pytest.mark.parametrize("text", _PII_SAMPLES)
def test_the_pre_filters_keep_every_finding(text: str) -> None:
    assert scan(text)  # each sample has something to find
    assert _filtered_hits(text) == _all_hits(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_PII_ALPHABET, max_size=120))
def test_the_pre_filters_drop_only_detectors_that_find_nothing(text: str) -> None:
    assert _filtered_hits(text) == _all_hits(text)


def test_stripe_keys_are_found_only_through_their_anchor() -> None:
    (finding,) = scan("key: rk_test_ABCDEFGHIJKLMNOP5678 ok")
    assert (finding.kind, finding.label) == ("secret", "stripe_key")
    assert _scan._detectors_for("no digits here") != _scan._DETECTORS
    assert _scan._detectors_for("one digit: 7") == _scan._DETECTORS


def test_other_script_digits_are_every_non_ascii_decimal_digit() -> None:
    found = {c for c in map(chr, range(0x110000)) if _OTHER_DIGIT.match(c)}
    decimal = {c for c in map(chr, range(0x110000)) if c.isdecimal()} - set("0123456789")
    assert found == decimal
    assert "\u0663" in found and "\uff11" in found and "7" not in found
