"""A frontier answer as a `ModelResponse`, whichever transport brought it (litellm's objects or
the openai transport's parsed JSON): usage as the server reported it, else estimated; and what a
frontier backend says of itself."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from router._records import Tier
from router.backends._base import ModelRequest, ModelResponse, ToolCall
from router.backends._tool_wire import field_of
from router.backends._usage import estimate_prompt_tokens, estimate_tokens


class FrontierIdentity:
    """What every frontier transport answers about itself: its model, provider and tier, and a
    repr that names the model and endpoint (never the key)."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: SecretStr | str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        """The policy's fields for one frontier model. `api_base` comes only from here (the
        policy), never from a request."""
        self._model = model
        self._provider = model.split("/", 1)[0] if "/" in model else "openai"
        self._api_base = api_base
        self._api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self._api_key_env = api_key_env
        self._timeout_s = timeout_s
        self._setup()

    def _setup(self) -> None:
        """A transport's own state, set after the shared fields (none by default)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, api_base={self._api_base!r})"

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def tier(self) -> Tier:
        return "frontier"


def final_response(
    model: str,
    request: ModelRequest,
    text: str,
    usage: Any,
    finish: str,
    *,
    calls: tuple[ToolCall, ...] = (),
) -> ModelResponse:
    """The answer with its usage; estimated when the server reported none (litellm then fills
    in zeros, which would make a billed call look free)."""
    tokens_in = field_of(usage, "prompt_tokens")
    tokens_out = field_of(usage, "completion_tokens")
    if isinstance(tokens_in, int) and isinstance(tokens_out, int) and tokens_in > 0:
        counts, reported = (tokens_in, tokens_out), True
    else:
        written = text + "".join(c.name + c.arguments for c in calls)
        counts, reported = (estimate_prompt_tokens(request), estimate_tokens(written)), False
    return ModelResponse(
        text=text,
        model=model,
        input_tokens=counts[0],
        output_tokens=counts[1],
        finish_reason="tool_calls" if calls and finish == "stop" else finish,
        usage_estimated=not reported,
        tool_calls=calls,
    )
