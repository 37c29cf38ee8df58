"""Token estimates with tiktoken (litellm's bundled files), for when a server reports no usage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from router._offline import tiktoken_encoding
from router.backends._base import ModelRequest

_PER_MESSAGE_OVERHEAD = 4  # role and separators, as OpenAI's chat format counts them


def estimate_tokens(text: str, encoding: str = "o200k_base") -> int:
    """Tokens in `text` under `encoding`; exact for OpenAI models, an estimate for others."""
    if not text:
        return 0
    return len(tiktoken_encoding(encoding).encode(text, disallowed_special=()))


def max_tokens_of(text: str) -> int:
    """An upper bound on `estimate_tokens(text)` under any byte-level BPE encoding, without
    encoding: every token covers at least one UTF-8 byte, so tokens <= bytes."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


PROMPT_OVERHEAD = 64
"""Tokens a provider may add around the messages (its chat template, a default system text)."""


def prompt_token_bound(messages: Sequence[Mapping[str, str]]) -> int:
    """The most prompt tokens a provider can bill for `messages` under any byte-level BPE
    tokenizer: UTF-8 bytes, plus per-message and per-request overhead. What budgets reserve,
    and what a reported usage is checked against."""
    tokens = sum(max_tokens_of(m.get("content", "")) + _PER_MESSAGE_OVERHEAD for m in messages)
    return tokens + PROMPT_OVERHEAD


def estimate_prompt_tokens(request: ModelRequest, encoding: str = "o200k_base") -> int:
    """Prompt tokens of a chat request, message overhead included."""
    return sum(
        estimate_tokens(m.get("content", ""), encoding) + _PER_MESSAGE_OVERHEAD
        for m in request.messages
    )
