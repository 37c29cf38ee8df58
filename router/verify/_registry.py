"""Verifiers by name, so a policy's `verify:` section can build the composite.

    verify: {structural: {}, valid_json: {}, self_check: {threshold: 0.6}}

builds `structural() & valid_json() & self_check(threshold=0.6)`: all must pass. Whatever the
order written, cheap model-free checks run first and the ones calling the local model last, so a
failing structural check saves the model calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any

from router.errors import ConfigError
from router.verify._compose import AllOf, Verifier
from router.verify._consistency import self_consistency
from router.verify._format import python_parses, valid_json
from router.verify._posthoc import Scorer, posthoc_score
from router.verify._run import VerificationResult
from router.verify._self_check import self_check
from router.verify._structural import (
    no_degenerate_repetition,
    not_empty,
    not_refusal,
    not_truncated,
    structural,
)

Factory = Callable[..., Verifier]

# name -> (factory, cost rank: 0 model-free, 1 classifier, 2 one local call, 3 several)
_REGISTRY: Mapping[str, tuple[Factory, int]] = MappingProxyType(
    {
        "structural": (structural, 0),
        "not_empty": (not_empty, 0),
        "not_refusal": (not_refusal, 0),
        "not_truncated": (not_truncated, 0),
        "no_degenerate_repetition": (no_degenerate_repetition, 0),
        "valid_json": (valid_json, 0),
        "python_parses": (python_parses, 0),
        "posthoc_score": (posthoc_score, 1),
        "self_check": (self_check, 2),
        "self_consistency": (self_consistency, 3),
    }
)


# Checks that do not judge what an answer says: the model-free ones (cost rank 0: form, JSON,
# code parses), the tool-call check the router adds itself, and `posthoc_score` (rank 1), which
# asks the router's own classifier, so its pass would teach the classifier what it believes.
_FORM_ONLY = frozenset(
    {name for name, (_, rank) in _REGISTRY.items() if rank < 2} | {"valid_tool_calls"}
)


def checked_content(result: VerificationResult | None) -> bool:
    """Whether `result` passed and a verifier that judges what the answer says passed it: a
    model's judgement (`self_check`, `self_consistency`) or the caller's own check, not only
    checks of its form (structural, JSON, code parses) or the router's classifier."""
    if result is None or not result.passed:
        return False
    return any(v.passed and judges_content(v.verifier) for v in result.verdicts)


def judges_content(name: str) -> bool:
    """Whether the verifier called `name` judges what an answer says: any but the checks of
    form and `posthoc_score` (a caller's own verifier too)."""
    return name not in _FORM_ONLY


def verifier_names() -> tuple[str, ...]:
    """The names a policy's `verify:` section may use, sorted."""
    return tuple(sorted(_REGISTRY))


def build_verifiers(
    config: Mapping[str, Mapping[str, Any] | None], *, scorer: Scorer | None = None
) -> AllOf:
    """One verifier from a policy's `verify:` mapping of name -> parameters (all must pass).

    `posthoc_score` needs `scorer` (the router's classifier). An empty mapping passes every
    answer. Unknown names or bad parameters raise `ConfigError` saying what to write instead.
    """
    entries = [_entry(name, params, scorer) for name, params in config.items()]
    entries.sort(key=lambda entry: entry[0])  # stable: same cost keeps the written order
    return AllOf(*(verifier for _, verifier in entries), name=" & ".join(config) or "nothing")


def _entry(
    name: str, params: Mapping[str, Any] | None, scorer: Scorer | None
) -> tuple[int, Verifier]:
    if name not in _REGISTRY:
        known = ", ".join(verifier_names())
        raise ConfigError(f"verify: unknown verifier {name!r}; use one of: {known}")
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"verify.{name}: parameters must be a mapping, e.g. {name}: {{}}")
    factory, cost = _REGISTRY[name]
    if name == "posthoc_score":
        factory = _with_scorer(scorer)
    try:
        return cost, factory(**dict(params or {}))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"verify.{name}: {exc}") from None


def _with_scorer(scorer: Scorer | None) -> Factory:
    if scorer is None:
        raise ConfigError(
            "verify.posthoc_score needs a classifier: pass scorer= to build_verifiers "
            "(the router passes its own classifier)"
        )
    return partial(posthoc_score, scorer)
