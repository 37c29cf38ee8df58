"""Test helpers shipped with cost-router: loopback model servers, a network guard, a demo workload.

The servers speak Ollama's, OpenAI's and Anthropic's HTTP APIs on 127.0.0.1, so the real clients
(`ollama`, `litellm`) can be tested without a network. See docs/testing.md.
"""

from router.testing._anthropic import AnthropicServer
from router.testing._demo import DemoPrompt, ReplayResponder, load_demo_workload
from router.testing._guard import NetworkBlockedError, NetworkGuard, network_guard
from router.testing._model import (
    ChatRequest,
    RecordedRequest,
    Reply,
    ReplyToolCall,
    Responder,
    Usage,
    count_tokens,
    echo_responder,
)
from router.testing._ollama import OllamaServer
from router.testing._openai import OpenAIServer
from router.testing._server import LoopbackServer
from router.testing._tools import example_arguments, tool_reply, with_tools

__all__ = [
    "AnthropicServer",
    "ChatRequest",
    "DemoPrompt",
    "LoopbackServer",
    "NetworkBlockedError",
    "NetworkGuard",
    "OllamaServer",
    "OpenAIServer",
    "RecordedRequest",
    "ReplayResponder",
    "Reply",
    "ReplyToolCall",
    "Responder",
    "Usage",
    "count_tokens",
    "echo_responder",
    "example_arguments",
    "load_demo_workload",
    "network_guard",
    "tool_reply",
    "with_tools",
]
