"""Backends: the seam to model servers. Pass your own to `Router(local=..., frontier=[...])`."""

from router.backends._base import (
    Backend,
    ModelChunk,
    ModelRequest,
    ModelResponse,
    ToolCall,
)
from router.backends._litellm import LiteLLMBackend
from router.backends._ollama import OllamaBackend

__all__ = [
    "Backend",
    "LiteLLMBackend",
    "ModelChunk",
    "ModelRequest",
    "ModelResponse",
    "OllamaBackend",
    "ToolCall",
]
