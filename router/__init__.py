"""cost-router: send each LLM request to the cheapest model that can answer it well.

    from router import Router
    router = Router()
    res = router.complete("Summarise this ticket: ...", metadata={"team": "support"})
    res.text, res.tier, res.model, res.decision, res.cost_usd

Importing this package is cheap: litellm, SQLAlchemy and the classifier load on first use.
"""

from __future__ import annotations

from router._clock import Clock, SystemClock
from router._completion import Attempt, Completion, Decision, StreamChunk, Usage
from router._router import Router
from router._scoring import Classifier
from router.backends import (
    Backend,
    LiteLLMBackend,
    ModelRequest,
    ModelResponse,
    OllamaBackend,
    ToolCall,
)
from router.errors import (
    AllAttemptsFailedError,
    BackendError,
    ConfigError,
    InvalidRequestError,
    PolicyError,
    PromptTooLongError,
    RouterError,
    SensitiveDataError,
    UnknownModelError,
)
from router.policy import Policy, load_policy

__version__ = "0.1.0"


__all__ = [
    "AllAttemptsFailedError",
    "Attempt",
    "Backend",
    "BackendError",
    "Classifier",
    "Clock",
    "Completion",
    "ConfigError",
    "Decision",
    "InvalidRequestError",
    "LiteLLMBackend",
    "ModelRequest",
    "ModelResponse",
    "OllamaBackend",
    "Policy",
    "PolicyError",
    "PromptTooLongError",
    "Router",
    "RouterError",
    "SensitiveDataError",
    "StreamChunk",
    "SystemClock",
    "ToolCall",
    "UnknownModelError",
    "Usage",
    "__version__",
    "load_policy",
]
