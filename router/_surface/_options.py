"""Sampling and request options: `stop`, `top_p`, `seed`, `max_completion_tokens`, `user`,
`model`, and OpenAI parameters the router refuses with a reason rather than dropping them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from router.errors import InvalidRequestError

_MAX_STOP = 4  # OpenAI's limit
_MAX_USER = 256
_SEED_RANGE = (-(2**63), 2**63 - 1)
AUTO = "auto"

# OpenAI parameters with no faithful meaning across both tiers: value that is a no-op, reason.
_REFUSED: Mapping[str, tuple[object, str]] = {
    "n": (1, "n > 1 is not supported: the router returns one answer; send n requests instead"),
    "audio": (None, "audio output is not supported: the local model answers in text only"),
    "modalities": (["text"], "only the 'text' modality is supported (no audio output)"),
    "logprobs": (False, "logprobs are not returned: the two tiers' tokenizers differ"),
    "top_logprobs": (None, "top_logprobs is not supported (see logprobs)"),
    "logit_bias": (None, "logit_bias is not supported: token ids differ between the tiers"),
    "functions": (None, "the legacy `functions` parameter is not supported; pass `tools`"),
    "function_call": (None, "the legacy `function_call` is not supported; pass `tool_choice`"),
    "presence_penalty": (None, "presence_penalty is not supported; use temperature or top_p"),
    "frequency_penalty": (None, "frequency_penalty is not supported; use temperature or top_p"),
    "parallel_tool_calls": (True, "parallel_tool_calls=false cannot be held to by the local tier"),
    "prediction": (None, "predicted outputs are not supported"),
    "reasoning_effort": (
        None,
        "reasoning_effort is not supported: the router picks the model",
    ),
    "web_search_options": (None, "web search is not supported: the local tier has no web access"),
}


REFUSED_PARAMETERS = frozenset(_REFUSED)
"""OpenAI parameters `refuse_openai_only` knows, and refuses unless set to their no-op value."""


def refuse_openai_only(unknown: Mapping[str, Any]) -> dict[str, Any]:
    """Raise for an OpenAI parameter the router cannot honour on both tiers, naming why; drop
    those set to their no-op value (`n=1`, `logprobs=False`, null); return the others."""
    rest: dict[str, Any] = {}
    for name, value in unknown.items():
        if name not in _REFUSED:
            rest[name] = value
            continue
        noop, reason = _REFUSED[name]
        if value is not None and value != noop:
            raise InvalidRequestError(reason)
    return rest


def check_model(model: Any) -> str | None:
    """The model the caller pins the request to; None for "auto" (route) or unset."""
    if model is None or model == AUTO:
        return None
    if not isinstance(model, str) or not 0 < len(model) <= _MAX_USER:
        raise InvalidRequestError("`model` must be 'auto' or the name of a configured model")
    return model


def check_stop(stop: Any) -> tuple[str, ...]:
    """OpenAI's `stop`: a string or a list of up to 4 non-empty strings."""
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if isinstance(stops, bytes | Mapping) or not isinstance(stops, Sequence):
        raise InvalidRequestError("`stop` must be a string or a list of up to 4 strings")
    if len(stops) > _MAX_STOP:
        raise InvalidRequestError(f"`stop` has {len(stops)} sequences; at most {_MAX_STOP}")
    if not all(isinstance(s, str) and s for s in stops):
        raise InvalidRequestError("`stop` sequences must be non-empty strings")
    return tuple(stops)


def check_top_p(top_p: Any) -> float | None:
    if top_p is None:
        return None
    if isinstance(top_p, bool) or not isinstance(top_p, int | float) or not 0 <= top_p <= 1:
        raise InvalidRequestError("`top_p` must be a number from 0 to 1")
    return float(top_p)


def check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    low, high = _SEED_RANGE
    if isinstance(seed, bool) or not isinstance(seed, int) or not low <= seed <= high:
        raise InvalidRequestError("`seed` must be a 64-bit integer")
    return seed


def check_max_tokens_pair(max_tokens: Any, max_completion_tokens: Any) -> Any:
    """OpenAI's two names for the output limit: either, or both with the same value."""
    if max_completion_tokens is None:
        return max_tokens
    if max_tokens is not None and max_tokens != max_completion_tokens:
        raise InvalidRequestError(
            "`max_tokens` and `max_completion_tokens` differ; set only one of them"
        )
    return max_completion_tokens


def check_user(user: Any, metadata: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """OpenAI's `user` (the end user's id), folded into `metadata["user"]`, which the ledger
    records (hashed unless the policy says otherwise)."""
    if user is None:
        return metadata
    if not isinstance(user, str) or not 0 < len(user) <= _MAX_USER:
        raise InvalidRequestError(f"`user` must be a string of 1 to {_MAX_USER} characters")
    if not isinstance(metadata, Mapping):
        return {"user": user} if metadata is None else metadata  # a bad metadata is named later
    if metadata.get("user", user) != user:
        raise InvalidRequestError("`user` and metadata['user'] differ; set only one of them")
    return {**metadata, "user": user}
