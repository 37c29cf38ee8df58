"""Backends: the seam to model servers. Pass your own to `Router(local=..., frontier=[...])`."""

from router.backends._base import (
    Backend,
    ModelChunk,
    ModelRequest,
    ModelResponse,
    ToolCall,
)
from router.backends._frontier import frontier_backend, speaks_openai
from router.backends._litellm import LiteLLMBackend
from router.backends._ollama import OllamaBackend
from router.backends._openai import OpenAIBackend

__all__ = [
    "Backend",
    "LiteLLMBackend",
    "ModelChunk",
    "ModelRequest",
    "ModelResponse",
    "OllamaBackend",
    "OpenAIBackend",
    "ToolCall",
    "frontier_backend",
    "speaks_openai",
]
