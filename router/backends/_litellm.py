"""Frontier backends: any litellm model (GPT-5.4, Claude Opus 4.6, ...) via `litellm.acompletion`.

litellm is imported on first use, with its offline switches set. Retries are ours: litellm's and
the provider SDK's own are switched off per call (`num_retries=0`, `max_retries=0`) so they never
multiply. Nothing here mutates `litellm.*` globals.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import Any, TypeVar

from router._offline import litellm, tiktoken_encoding
from router.backends._answer import FrontierIdentity, final_response
from router.backends._base import ModelChunk, ModelRequest, ModelResponse, ToolCall
from router.backends._keys import missing_key
from router.backends._litellm_errors import map_litellm_error
from router.backends._quiet import quiet
from router.backends._stop import StreamStop, cut_at_stop
from router.backends._timing import bounded
from router.backends._tool_wire import StreamedToolCalls, tool_calls_of
from router.backends._tool_wire import openai_message as _openai_message
from router.backends._tool_wire import sampling_args as _sampling_args
from router.errors import BackendError, MalformedResponseError, RouterError

T = TypeVar("T")
log = logging.getLogger("router")


class LiteLLMBackend(FrontierIdentity):
    """One frontier model. `api_base` comes only from here (the policy), never from a request."""

    # Set on first use: litellm's name for the provider, and whether `warm_up` has run.
    _litellm_provider: str | None = None
    _warm = False

    async def warm_up(self) -> None:
        """Load what a first call would otherwise load inside its timing: litellm itself
        (seconds), what its first call to this model imports and builds (a dry run through
        litellm's own no-network `mock_response` path), and the tiktoken tables it and our
        usage estimates read. Idempotent; nothing is sent, and it never raises."""
        if self._warm:
            return
        with quiet():
            module = await litellm_off_loop()
            self._key_provider(module)
            for stream in (False, True):
                await self._dry_run(module, stream=stream)
        await asyncio.to_thread(load_encodings)
        self._warm = True

    async def _dry_run(self, module: ModuleType, *, stream: bool) -> None:
        args = {**self._call_args(_DRY_RUN, stream=stream), "mock_response": "ok"}
        try:
            async with asyncio.timeout(_DRY_RUN_TIMEOUT_S):
                response = await module.acompletion(**args)
                if stream:
                    async for _ in response:
                        pass
        except Exception as exc:  # a warm-up that fails leaves the first call to do it
            log.debug("warm-up dry run of %s failed: %s", self._model, type(exc).__name__)

    def check_key(self) -> None:
        """Raise `MissingApiKeyError` when this model has no usable API key (see `_keys`)."""
        with quiet():
            self._check_key(litellm())

    async def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            with quiet():  # litellm prints a banner on every failure (see _quiet)
                module = await litellm_off_loop()
                self._check_key(module)
                async with asyncio.timeout(request.timeout_s or self._timeout_s):
                    raw = await module.acompletion(**self._call_args(request, stream=False))
            return self._response(raw, request)
        except RouterError:
            raise
        except Exception as exc:
            raise self._map(exc) from None

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        parts: list[str] = []
        calls = StreamedToolCalls()
        stop = StreamStop(request.stop)
        usage: Any = None
        finish: str | None = None
        try:
            with quiet():  # each call into litellm is quiet; never a `yield` inside (_quiet)
                module = await litellm_off_loop()
                self._check_key(module)
            args = self._call_args(request, stream=True)

            async def opening() -> AsyncIterator[Any]:
                return _quiet_chunks(await _quietly(lambda: module.acompletion(**args)))

            total_s = request.timeout_s or self._timeout_s
            async for chunk in bounded(opening, total_s=total_s, stall_s=self._timeout_s):
                usage = getattr(chunk, "usage", None) or usage
                for choice in chunk.choices or ():
                    finish = choice.finish_reason or finish
                    calls.add(getattr(choice.delta, "tool_calls", None))
                    delta = stop.feed(choice.delta.content or "")
                    if delta:
                        parts.append(delta)
                        yield ModelChunk(delta=delta)
            rest = stop.flush()
            if rest:
                parts.append(rest)
                yield ModelChunk(delta=rest)
        except RouterError:
            raise
        except Exception as exc:
            raise self._map(exc) from None
        if finish is None or (not parts and not calls and usage is None):
            # litellm ends a truncated or non-SSE stream quietly, as if it were an empty answer
            raise self._malformed("a stream with no answer and no usage")
        finish = "stop" if stop.stopped else finish
        final = self._final(request, "".join(parts), usage, finish, calls.finished())
        yield ModelChunk(final=final)

    async def aclose(self) -> None:
        """litellm owns its HTTP clients; there is nothing of ours to close."""

    def _call_args(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": self._model,
            "messages": [_openai_message(m) for m in request.messages],
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
        return args | _sampling_args(request)

    def _check_key(self, module: ModuleType) -> None:
        error = missing_key(
            self._model,
            self._provider,
            api_key=self._api_key,
            api_key_env=self._api_key_env,
            api_base=self._api_base,
            key_provider=self._key_provider(module),
            validate=module.validate_environment,
        )
        if error is not None:
            raise error

    def _key_provider(self, module: ModuleType) -> str:
        """The provider whose standard key variables apply: litellm's reading of the model name
        (a bare `claude-...` is Anthropic's), computed once."""
        if self._litellm_provider is None:
            try:
                found = module.get_llm_provider(model=self._model, api_base=self._api_base)[1]
            except Exception:  # an unknown provider fails in the call itself, as before
                found = self._provider
            self._litellm_provider = str(found or self._provider)
        return self._litellm_provider

    def _key(self) -> str | None:
        if self._api_key is not None:
            return self._api_key.get_secret_value()
        if self._api_key_env:
            return os.environ.get(self._api_key_env)
        return None

    def _response(self, raw: Any, request: ModelRequest) -> ModelResponse:
        try:
            choice = raw.choices[0]
            text, stopped = cut_at_stop(choice.message.content or "", request.stop)
            finish = "stop" if stopped else choice.finish_reason or "stop"
            calls = tool_calls_of(getattr(choice.message, "tool_calls", None))
        except (AttributeError, IndexError, TypeError):
            raise self._malformed("an answer without a message") from None
        return self._final(request, text, getattr(raw, "usage", None), finish, calls)

    def _malformed(self, what: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self._provider}:{self._model} sent {what}; is api_base right?",
            model=self._model,
            provider=self._provider,
        )

    def _final(
        self,
        request: ModelRequest,
        text: str,
        usage: Any,
        finish: str,
        calls: tuple[ToolCall, ...] = (),
    ) -> ModelResponse:
        return final_response(self._model, request, text, usage, finish, calls=calls)

    def _map(self, exc: BaseException) -> BackendError | RouterError:
        return map_litellm_error(exc, model=self._model, provider=self._provider)


_DRY_RUN = ModelRequest(messages=({"role": "user", "content": "warm-up"},), max_tokens=1)
_DRY_RUN_TIMEOUT_S = 30.0


def load_encodings() -> None:
    """o200k for our usage estimates; cl100k, which litellm loads on its first Anthropic call."""
    for name in ("o200k_base", "cl100k_base"):
        tiktoken_encoding(name)


async def _quietly(call: Callable[[], Awaitable[T]]) -> T:
    """Await one call into litellm with its prints dropped (see _quiet)."""
    with quiet():
        return await call()


async def _quiet_chunks(chunks: Any) -> AsyncIterator[Any]:
    """A litellm stream whose every step is quiet; closing this closes the stream."""
    iterator = aiter(chunks)
    try:
        while (chunk := await _quietly(lambda: anext(iterator, None))) is not None:
            yield chunk
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


async def litellm_off_loop() -> ModuleType:
    """litellm, imported on a worker thread the first time: its import takes seconds and must
    neither block the event loop nor count against a request's timeout."""
    if litellm.cache_info().currsize:  # already imported: no thread hop on the hot path
        return litellm()
    module = await asyncio.to_thread(litellm)
    drop_debug_records(("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"))
    return module


class _DropDebug(logging.Filter):
    """DEBUG records of litellm and the openai SDK quote whole requests (the prompt) and answers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def drop_debug_records(loggers: tuple[str, ...]) -> None:
    """Keep prompts out of logs even when someone turns a library's loggers to DEBUG (litellm's,
    the openai SDK's): a filter on those loggers (logging's registry, not a library global).
    ROUTER_LITELLM_DEBUG=1 keeps them."""
    if os.environ.get("ROUTER_LITELLM_DEBUG") == "1":
        return
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropDebug) for f in logger.filters):
            logger.addFilter(_DropDebug())
