"""Names shared by spans and metrics, and the GenAI conventions' names for providers."""

from __future__ import annotations

OPERATION_CHAT = "chat"
ROOT_SPAN_NAME = "route"

# Backend.provider (litellm's prefix, or "ollama") -> the GenAI conventions' gen_ai.provider.name.
# Providers the conventions do not list keep their own name.
_PROVIDER_NAMES = {
    "ollama": "ollama",
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "perplexity": "perplexity",
}


def provider_name(provider: str) -> str:
    """The `gen_ai.provider.name` for a backend's `provider`."""
    return _PROVIDER_NAMES.get(provider, provider)
