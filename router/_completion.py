"""What a routed request returns: the answer, where it went and why, and what it cost."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from router._records import Tier
from router.backends._base import ToolCall

if TYPE_CHECKING:
    from router.verify import VerificationResult


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens the answering model reported (Ollama's prompt_eval_count/eval_count, or the API's)."""

    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Decision:
    """Why a request went where it went.

    `rule` names what decided: `classifier` or `token-count` (score vs threshold), `sensitive`
    (kept local), `budget` (a cap kept it local), `pinned` (the caller named the model).
    """

    tier: Tier
    rule: str
    score: float | None
    threshold: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One model call made for this request (failed ones included), without any content."""

    model: str
    provider: str
    tier: Tier
    outcome: str
    latency_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    error_class: str | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """The answer to a routed request.

    `cost_usd` is everything this request spent (failed attempts and verifier calls included);
    `baseline_usd` what it would have cost on the policy's baseline frontier model; `savings_usd`
    the difference. `verification` holds every verifier's verdict and timing when any ran.
    `tool_calls` holds the function calls the model asked for (`finish_reason` "tool_calls"),
    each in OpenAI's shape (`.as_openai()`); `text` may then be empty.
    """

    request_id: str
    text: str
    tier: Tier
    model: str
    decision: Decision
    usage: Usage
    cost_usd: Decimal
    baseline_usd: Decimal
    savings_usd: Decimal
    finish_reason: str
    latency_ms: float
    attempts: tuple[Attempt, ...]
    verification: VerificationResult | None = None
    escalation_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """A piece of a streamed answer. The last chunk has `text == ""` and `completion` set; the
    answer's tool calls (if any) arrive whole on it, in `completion.tool_calls`. `model` names
    the model the text comes from (text already sent is never replaced by another model's)."""

    text: str
    completion: Completion | None = None
    model: str | None = None
