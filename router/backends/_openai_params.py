"""Which generation options (and message roles) an OpenAI model takes, decided as litellm
decides them.

litellm is called with `drop_params=True`: it drops what a model refuses (GPT-5's reasoning
models take no `stop`, and no `temperature` but 1 while reasoning) and renames what the API
renamed (`max_tokens` is `max_completion_tokens` for reasoning models). The openai transport
sends what litellm would send, so both transports behave alike for the same model: it asks
litellm's own `get_optional_params` once per kind of request (which options are set, and the
values a decision depends on) and remembers the answer, since the call takes 0.1 to 1 ms.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

_RENAMED = ("max_tokens", "max_completion_tokens")
_ITS_OWN = frozenset({"stream", "extra_body", "max_completion_tokens"})
_DECIDING = ("temperature", "top_p")  # values (not only presence) that litellm decides on
_REMEMBERED = 256


class ParamPlan:
    """The options one model takes: a cache of litellm's decisions, per kind of request."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._plans: dict[Hashable, tuple[frozenset[str], bool, tuple[tuple[str, Any], ...]]] = {}
        self._system_as_user: bool | None = None

    def messages(self, messages: list[dict[str, Any]], litellm: Any) -> list[dict[str, Any]]:
        """`messages` as litellm sends them to this model: without null `content` keys, and
        with system turns as user turns for the o-series models that refuse them."""
        if self._system_as_user is None:
            o_series = litellm.OpenAIOSeriesConfig().is_model_o_series_model(self._model)
            self._system_as_user = o_series and not litellm.supports_system_messages(
                self._model, "openai"
            )
        for message in messages:
            if message.get("content", "") is None:
                del message["content"]
        if not self._system_as_user:
            return messages
        return [
            {"role": "user", "content": m["content"]} if m["role"] == "system" else m
            for m in messages
        ]

    def apply(self, params: Mapping[str, Any], litellm: Any) -> dict[str, Any]:
        """`params` (OpenAI's names) as litellm would send them to this model."""
        key = (frozenset(params), *(_hashable(params.get(name)) for name in _DECIDING))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._decide(params, litellm)
            if len(self._plans) < _REMEMBERED:
                self._plans[key] = plan
        kept, renamed, added = plan
        out = {name: value for name, value in params.items() if name in kept}
        if renamed:
            out[_RENAMED[1]] = params[_RENAMED[0]]
        out.update(added)
        return out

    def _decide(
        self, params: Mapping[str, Any], litellm: Any
    ) -> tuple[frozenset[str], bool, tuple[tuple[str, Any], ...]]:
        decided: dict[str, Any] = litellm.get_optional_params(
            model=self._model, custom_llm_provider="openai", drop_params=True, **params
        )
        kept = frozenset(name for name in params if name in decided)
        renamed = _RENAMED[0] in params and _RENAMED[0] not in kept and _RENAMED[1] in decided
        added = tuple(
            (name, value)
            for name, value in decided.items()
            if name not in params and name not in _ITS_OWN and value is not None
        )
        return kept, renamed, added


def _hashable(value: Any) -> Hashable:
    return value if isinstance(value, int | float | str | None) else repr(value)
