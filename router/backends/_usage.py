"""Token estimates with tiktoken (litellm's bundled files), for when a server reports no usage."""

from __future__ import annotations

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


def estimate_prompt_tokens(request: ModelRequest, encoding: str = "o200k_base") -> int:
    """Prompt tokens of a chat request, message overhead included."""
    return sum(
        estimate_tokens(m.get("content", ""), encoding) + _PER_MESSAGE_OVERHEAD
        for m in request.messages
    )
