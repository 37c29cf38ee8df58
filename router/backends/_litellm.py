"""Frontier backends: any litellm model (GPT-5.4, Claude Opus 4.6, ...) via `litellm.acompletion`.

litellm is imported on first use, with its offline switches set. Retries are ours: litellm's and
the provider SDK's own are switched off per call (`num_retries=0`, `max_retries=0`) so they never
multiply. Nothing here mutates `litellm.*` globals.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

from pydantic import SecretStr

from router._offline import litellm
from router._records import Tier
from router.backends._base import ModelChunk, ModelRequest, ModelResponse
from router.backends._litellm_errors import map_litellm_error
from router.backends._usage import estimate_prompt_tokens, estimate_tokens
from router.errors import BackendError, MalformedResponseError, RouterError


class LiteLLMBackend:
    """One frontier model. `api_base` comes only from here (the policy), never from a request."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: SecretStr | str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        self._model = model
        self._provider = model.split("/", 1)[0] if "/" in model else "openai"
        self._api_base = api_base
        self._api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self._api_key_env = api_key_env
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"LiteLLMBackend(model={self._model!r}, api_base={self._api_base!r})"

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def tier(self) -> Tier:
        return "frontier"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            module = await _litellm_off_loop()
            async with asyncio.timeout(request.timeout_s or self._timeout_s):
                raw = await module.acompletion(**self._call_args(request, stream=False))
            return self._response(raw, request)
        except RouterError:
            raise
        except Exception as exc:
            raise self._map(exc) from None

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        parts: list[str] = []
        usage: Any = None
        finish: str | None = None
        try:
            module = await _litellm_off_loop()
            async with asyncio.timeout(request.timeout_s or self._timeout_s):
                chunks = await module.acompletion(**self._call_args(request, stream=True))
                async for chunk in chunks:
                    usage = getattr(chunk, "usage", None) or usage
                    for choice in chunk.choices or ():
                        finish = choice.finish_reason or finish
                        delta = choice.delta.content or ""
                        if delta:
                            parts.append(delta)
                            yield ModelChunk(delta=delta)
        except RouterError:
            raise
        except Exception as exc:
            raise self._map(exc) from None
        if finish is None or (not parts and usage is None):
            # litellm ends a truncated or non-SSE stream quietly, as if it were an empty answer
            raise self._malformed("a stream with no answer and no usage")
        yield ModelChunk(final=self._final(request, "".join(parts), usage, finish))

    async def aclose(self) -> None:
        """litellm owns its HTTP clients; there is nothing of ours to close."""

    def _call_args(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": self._model,
            "messages": [dict(m) for m in request.messages],
            "num_retries": 0,
            "max_retries": 0,
            # Constant per backend: litellm caches its HTTP client per timeout value, so the
            # request's remaining deadline here would build a client (and a connection) per
            # call. The deadline is enforced by `asyncio.timeout` around the call instead.
            "timeout": self._timeout_s,
            "drop_params": True,
            "stream": stream,
        }
        if stream:
            args["stream_options"] = {"include_usage": True}
        if self._api_base:
            args["api_base"] = self._api_base
        key = self._key()
        if key is not None:
            args["api_key"] = key
        if request.max_tokens is not None:
            args["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            args["temperature"] = request.temperature
        if request.response_format is not None:
            args["response_format"] = dict(request.response_format)
        return args

    def _key(self) -> str | None:
        if self._api_key is not None:
            return self._api_key.get_secret_value()
        if self._api_key_env:
            return os.environ.get(self._api_key_env)
        return None

    def _response(self, raw: Any, request: ModelRequest) -> ModelResponse:
        try:
            choice = raw.choices[0]
            text = choice.message.content or ""
            finish = choice.finish_reason or "stop"
        except (AttributeError, IndexError, TypeError):
            raise self._malformed("an answer without a message") from None
        return self._final(request, text, getattr(raw, "usage", None), finish)

    def _malformed(self, what: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self._provider}:{self._model} sent {what}; is api_base right?",
            model=self._model,
            provider=self._provider,
        )

    def _final(self, request: ModelRequest, text: str, usage: Any, finish: str) -> ModelResponse:
        """The answer with its usage; estimated when the server reported none (litellm then
        fills in zeros, which would make a billed call look free)."""
        tokens_in = getattr(usage, "prompt_tokens", None)
        tokens_out = getattr(usage, "completion_tokens", None)
        if isinstance(tokens_in, int) and isinstance(tokens_out, int) and tokens_in > 0:
            counts, reported = (tokens_in, tokens_out), True
        else:
            counts, reported = (estimate_prompt_tokens(request), estimate_tokens(text)), False
        return ModelResponse(
            text=text,
            model=self._model,
            input_tokens=counts[0],
            output_tokens=counts[1],
            finish_reason=finish,
            usage_estimated=not reported,
        )

    def _map(self, exc: BaseException) -> BackendError | RouterError:
        return map_litellm_error(exc, model=self._model, provider=self._provider)


async def _litellm_off_loop() -> ModuleType:
    """litellm, imported on a worker thread the first time: its import takes seconds and must
    neither block the event loop nor count against a request's timeout."""
    if litellm.cache_info().currsize:  # already imported: no thread hop on the hot path
        return litellm()
    module = await asyncio.to_thread(litellm)
    _drop_litellm_debug_records()
    return module


class _DropDebug(logging.Filter):
    """litellm's DEBUG records quote whole requests (a curl line with the prompt) and answers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _drop_litellm_debug_records() -> None:
    """Keep prompts out of logs even when someone turns litellm's loggers to DEBUG: a filter on
    its loggers (logging's registry, not a litellm global). ROUTER_LITELLM_DEBUG=1 keeps them."""
    if os.environ.get("ROUTER_LITELLM_DEBUG") == "1":
        return
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropDebug) for f in logger.filters):
            logger.addFilter(_DropDebug())
