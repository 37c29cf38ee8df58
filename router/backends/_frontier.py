"""Which transport carries a frontier model's calls: the openai SDK or litellm.

`transport: auto` (the default) sends models that speak OpenAI's chat protocol, by name (an
`openai/` prefix, or a bare OpenAI model name such as `gpt-5.4` or `o3`), through the openai
SDK (`OpenAIBackend`), which costs a third of litellm's CPU per call; every other model
(Anthropic's, Gemini's, Bedrock's...) goes through litellm (`LiteLLMBackend`). `openai` forces
the SDK (for any server that speaks OpenAI's protocol: vLLM, a gateway); `litellm` forces litellm.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from router.backends._base import Backend
from router.backends._litellm import LiteLLMBackend
from router.backends._openai import OpenAIBackend

if TYPE_CHECKING:
    from router.policy import FrontierModel

_OPENAI_NAMES = re.compile(r"openai/.+|(gpt-|chatgpt-|o[1-9]|codex-|ft:gpt-)[^/]*", re.ASCII)


def speaks_openai(model: str) -> bool:
    """Does `transport: auto` send `model` through the openai SDK?"""
    return _OPENAI_NAMES.fullmatch(model) is not None


def frontier_backend(config: FrontierModel) -> Backend:
    """The backend for one `frontier.models` entry, on the transport its policy picks."""
    openai = config.transport == "openai" or (
        config.transport == "auto" and speaks_openai(config.model)
    )
    kind = OpenAIBackend if openai else LiteLLMBackend
    return kind(
        config.model,
        api_base=config.api_base,
        api_key=config.api_key,
        api_key_env=config.api_key_env,
        timeout_s=config.timeout_s,
    )
