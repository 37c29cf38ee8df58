"""LiteLLM's complexity router as a `Classifier`, for side-by-side evaluation and benchmarks.

litellm is imported lazily, only when a peer is built, after `router._offline` has pinned the
cost map and tokenizers to the local copies (nothing is downloaded). No `litellm.*` global is set.

- `heuristic`: `ComplexityRouter.classify(prompt)` -> its raw weighted score (continuous, the
  most informative output), squashed to [0, 1] with a logistic (rank-preserving).
- `heuristic_v2`: the trained tier predictor `ComplexityRouter` calls for `heuristic_v2`
  (`TierSuccessPredictor(resolve_tier_artifact("ultrafeedback")).predict(prompt,
  classify_prompt(prompt))`); score = 1 - P(the SIMPLE tier succeeds).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

from router._offline import prepare_offline_environment
from router.errors import ClassifierError

PeerKind = Literal["heuristic", "heuristic_v2"]
PEER_KINDS: tuple[PeerKind, ...] = ("heuristic", "heuristic_v2")


class LiteLLMPeer:
    """One of litellm's local complexity scorers behind the `Classifier` protocol."""

    def __init__(self, kind: PeerKind = "heuristic") -> None:
        if kind not in PEER_KINDS:
            raise ClassifierError(
                f"unknown litellm peer {kind!r}; use one of {', '.join(PEER_KINDS)}"
            )
        self.kind = kind
        self._score: Callable[[str], float] = _build(kind)

    def score(self, prompt: str, response: str | None = None) -> float:
        return self._score(prompt)

    def score_batch(
        self, prompts: Sequence[str], responses: Sequence[str | None] | None = None
    ) -> list[float]:
        return [self._score(p) for p in prompts]

    def __repr__(self) -> str:
        return f"LiteLLMPeer({self.kind!r})"


def _build(kind: PeerKind) -> Callable[[str], float]:
    prepare_offline_environment()
    try:
        return _heuristic() if kind == "heuristic" else _heuristic_v2()
    except ImportError as exc:  # pragma: no cover - litellm is a hard dependency
        raise ClassifierError(f"litellm peer {kind!r} is unavailable: {exc}") from exc


def _heuristic() -> Callable[[str], float]:
    from litellm.router_strategy import complexity_router as cr  # noqa: PLC0415 - slow import

    router: Any = cr.ComplexityRouter(model_name="cost-router-peer", ctx=None)

    def heuristic(prompt: str) -> float:
        _tier, raw, _signals = router.classify(prompt)
        return 1.0 / (1.0 + math.exp(-4.0 * float(raw)))

    return heuristic


def _heuristic_v2() -> Callable[[str], float]:
    from litellm.router_strategy.adaptive_router import classifier  # noqa: PLC0415 - slow import
    from litellm.router_strategy.complexity_router import tier_predictor  # noqa: PLC0415

    predictor: Any = tier_predictor.TierSuccessPredictor(
        tier_predictor.resolve_tier_artifact("ultrafeedback")
    )
    classify_prompt: Callable[[str], Any] = classifier.classify_prompt

    def heuristic_v2(prompt: str) -> float:
        prediction = predictor.predict(prompt, classify_prompt(prompt))
        return 1.0 - float(prediction.probabilities[1])

    return heuristic_v2
