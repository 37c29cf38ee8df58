"""cost-router: send each LLM request to the cheapest model that can answer it well.

    from router import Router
    router = Router()
    res = router.complete("Summarise this ticket: ...", metadata={"team": "support"})
    res.text, res.tier, res.model, res.decision, res.cost_usd

Importing this package is cheap: litellm, SQLAlchemy and the classifier load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router._clock import Clock, SystemClock
from router._completion import Attempt, Completion, Decision, StreamChunk, Usage
from router._router import Router
from router.backends import Backend, LiteLLMBackend, ModelRequest, ModelResponse, OllamaBackend
from router.errors import (
    AllAttemptsFailedError,
    BackendError,
    ConfigError,
    InvalidRequestError,
    PolicyError,
    PromptTooLongError,
    RouterError,
    SensitiveDataError,
)
from router.policy import Policy, load_policy

if TYPE_CHECKING:
    from router.classifier import Classifier

__version__ = "0.1.0"


def load_classifier(path: str | None = None) -> Classifier:
    """The shipped difficulty classifier (or one trained with `router train --out DIR`)."""
    from router.classifier import load_classifier as _load  # noqa: PLC0415 - lazy: numpy

    return _load(path)


__all__ = [
    "AllAttemptsFailedError",
    "Attempt",
    "Backend",
    "BackendError",
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
    "Usage",
    "__version__",
    "load_classifier",
    "load_policy",
]
