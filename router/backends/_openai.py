"""Frontier backends that speak OpenAI's chat completions API, called with the official `openai`
SDK instead of through litellm: the same request on the wire, a third of the CPU per call.

litellm spends about 4 ms of CPU on each call to an OpenAI model (15 ms streamed under load)
around the same SDK call that takes about 1 ms here: its provider lookup, parameter mapping,
logging objects, cost calculation and a thread hop per call. This backend keeps what matters of
it: the parameters litellm would send to the model (its own decision, remembered: see
`_openai_params`), its reading of errors (`_openai_errors`), the router's stop-sequence cut,
tool calls and usage. It asks the SDK for the raw HTTP answer and parses the JSON (or the SSE
events) itself, which skips the SDK's typed models. One `AsyncOpenAI` client per API key and
event loop, on the SDK's aiohttp transport (`DefaultAioHttpClient`): httpx2's connection pool
checks every pooled connection's socket on each request and each response close, and the call
costs about half the CPU on aiohttp (0.49 against 0.95 ms at 32 concurrent calls). The SDK's
own retries are off (the router retries).
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import AsyncIterator, Mapping
from types import ModuleType
from typing import Any
from weakref import WeakKeyDictionary

import orjson

from router.backends._answer import FrontierIdentity, final_response
from router.backends._base import ModelChunk, ModelRequest, ModelResponse
from router.backends._keys import missing_key
from router.backends._litellm import drop_debug_records, litellm_off_loop, load_encodings
from router.backends._openai_errors import map_openai_error
from router.backends._openai_params import ParamPlan
from router.backends._stop import StreamStop, cut_at_stop
from router.backends._timing import bounded
from router.backends._tool_wire import StreamedToolCalls, field_of, sampling_args, tool_calls_of
from router.backends._tool_wire import openai_message as _openai_message
from router.errors import (
    BackendError,
    MalformedResponseError,
    RepetitiveOutputError,
    RouterError,
)

_PATH = "/chat/completions"
_DEFAULT_BASE = "https://api.openai.com/v1"
_SDK_LOGGERS = ("openai", "openai._base_client", "httpx2")


class OpenAIBackend(FrontierIdentity):
    """One model behind an OpenAI-compatible API (OpenAI's own, or any server that speaks its
    chat protocol). `api_base` comes only from here (the policy), never from a request; an
    `openai/` prefix on the name is litellm's and is not sent."""

    def _setup(self) -> None:
        """Its wire name (without litellm's `openai/` prefix), parameter plan and per-loop
        clients, next to the shared fields `FrontierIdentity.__init__` sets."""
        self._wire_model = self._model.removeprefix("openai/")
        self._params = ParamPlan(self._wire_model)
        self._clients: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
            WeakKeyDictionary()
        )
        self._sdk: ModuleType | None = None
        self._warm = False

    async def warm_up(self) -> None:
        """Import the SDK and litellm (whose parameter decisions this backend reuses) off the
        event loop, decide the plain request's parameters and load the token tables used when
        a server reports no usage. Idempotent; nothing is sent, and it never raises."""
        if self._warm:
            return
        try:
            await self._modules()
            self._params.apply({}, await litellm_off_loop())
        except Exception:  # a warm-up that fails leaves the first call to do it
            return
        await asyncio.to_thread(load_encodings)
        self._warm = True

    def check_key(self) -> None:
        """Raise `MissingApiKeyError` when this model has no usable API key (see `_keys`)."""
        error = missing_key(
            self._model,
            self._provider,
            api_key=self._api_key,
            api_key_env=self._api_key_env,
            api_base=self._api_base,
            key_provider="openai",
        )
        if error is not None:
            raise error

    async def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            client, body = await self._prepare(request, stream=False)
            async with asyncio.timeout(request.timeout_s or self._timeout_s):
                raw = await client.post(_PATH, cast_to=self._response_type(), body=body)
            return self._response(orjson.loads(raw.content), request)
        except RouterError:
            raise
        except Exception as exc:
            raise self._map(exc) from None

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        answer = _StreamedAnswer(request.stop)
        try:
            client, body = await self._prepare(request, stream=True)

            async def opening() -> AsyncIterator[Any]:
                cast = self._response_type()
                response = await client.post(_PATH, cast_to=cast, body=body, stream=True)
                return _events(response, self._sdk_module())

            total_s = request.timeout_s or self._timeout_s
            async for chunk in bounded(opening, total_s=total_s, stall_s=self._timeout_s):
                if not isinstance(chunk, dict):
                    raise self._malformed("a stream event that is not a JSON object")
                for text in answer.feed(chunk):
                    yield ModelChunk(delta=text)
                if answer.looping:
                    raise self._looping()
            rest = answer.flush()
            if rest:
                yield ModelChunk(delta=rest)
        except RouterError:
            raise
        except Exception as exc:
            raise self._map(exc) from None
        if answer.finish is None or not answer:
            raise self._malformed("a stream with no answer and no usage")
        yield ModelChunk(final=answer.response(self._model, request))

    async def aclose(self) -> None:
        """Close this loop's clients; a client of another loop is closed on its loop (or
        dropped with it, when that loop has ended)."""
        current = asyncio.get_running_loop()
        for loop, clients in list(self._clients.items()):
            closer = clients.pop(_CLOSER, None)
            if loop is current and closer is not None:
                await closer.aclose()
            elif closer is not None and loop.is_running() and not loop.is_closed():
                asyncio.run_coroutine_threadsafe(closer.aclose(), loop)
            self._clients.pop(loop, None)

    # -- the request ---------------------------------------------------------------------------

    async def _prepare(self, request: ModelRequest, *, stream: bool) -> tuple[Any, dict[str, Any]]:
        self.check_key()
        sdk, litellm = await self._modules()
        messages = [_openai_message(m) for m in request.messages]
        body: dict[str, Any] = {
            "model": self._wire_model,
            "messages": self._params.messages(messages, litellm),
        }
        if stream:  # litellm sends no `stream` key on a plain call
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(self._params.apply(_options(request), litellm))
        return await self._client(sdk), body

    async def _modules(self) -> tuple[ModuleType, ModuleType]:
        """The SDK and litellm, imported on a worker thread the first time (seconds)."""
        if self._sdk is None:
            self._sdk = await asyncio.to_thread(importlib.import_module, "openai")
            drop_debug_records(_SDK_LOGGERS)
        return self._sdk, await litellm_off_loop()

    def _sdk_module(self) -> ModuleType:
        assert self._sdk is not None  # imported by `_prepare`
        return self._sdk

    async def _client(self, sdk: ModuleType) -> Any:
        key = self._key() or ""
        clients = self._clients.setdefault(asyncio.get_running_loop(), {})
        client = clients.get(key)
        if client is None:
            client = sdk.AsyncOpenAI(
                api_key=key,
                base_url=self._base_url(),
                max_retries=0,
                timeout=self._timeout_s,
                http_client=sdk.DefaultAioHttpClient(timeout=self._timeout_s),
            )
            if not clients:  # closes them if the loop ends first (started on this loop)
                clients[_CLOSER] = closer = _closer(clients)
                await anext(closer)
            clients[key] = client
        return client

    def _key(self) -> str | None:
        if self._api_key is not None:
            return self._api_key.get_secret_value()
        return os.environ.get(self._api_key_env or "OPENAI_API_KEY")

    def _base_url(self) -> str:
        """As litellm picks it for OpenAI: the policy's, else the standard variables."""
        env = os.environ
        return (
            self._api_base
            or env.get("OPENAI_BASE_URL")
            or env.get("OPENAI_API_BASE")
            or _DEFAULT_BASE
        )

    @staticmethod
    def _response_type() -> type[Any]:
        import httpx2  # noqa: PLC0415 - the SDK's HTTP library, loaded with it

        return httpx2.Response

    # -- the answer ----------------------------------------------------------------------------

    def _response(self, data: Any, request: ModelRequest) -> ModelResponse:
        try:
            choice = data["choices"][0]
            message = choice["message"]
            text, stopped = cut_at_stop(message.get("content") or "", request.stop)
            finish = "stop" if stopped else choice.get("finish_reason") or "stop"
            calls = tool_calls_of(message.get("tool_calls"))
        except (AttributeError, IndexError, KeyError, TypeError):
            raise self._malformed("an answer without a message") from None
        usage = field_of(data, "usage")
        return final_response(self._model, request, text, usage, finish, calls=calls)

    def _malformed(self, what: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self._provider}:{self._model} sent {what}; is api_base right?",
            model=self._model,
            provider=self._provider,
        )

    def _looping(self) -> RepetitiveOutputError:
        return RepetitiveOutputError(
            f"{self._provider}:{self._model} kept sending the same chunk, so the stream was "
            f"stopped (after {REPEATED_CHUNKS} identical chunks, as litellm does): the model was "
            "looping; lower max_tokens, or change the prompt or temperature",
            model=self._model,
            provider=self._provider,
        )

    def _map(self, exc: BaseException) -> BackendError | RouterError:
        return map_openai_error(exc, model=self._model, provider=self._provider)


REPEATED_CHUNKS = 100  # litellm's REPEATED_STREAMING_CHUNK_LIMIT


class _StreamedAnswer:
    """What a stream's events have said so far: text (cut at a stop sequence), tool calls,
    usage, the finish reason, and whether the model is looping."""

    def __init__(self, stop: tuple[str, ...]) -> None:
        self.parts: list[str] = []
        self.calls = StreamedToolCalls()
        self.stop = StreamStop(stop)
        self.repeats = RepeatGuard()
        self.usage: Any = None
        self.finish: str | None = None
        self.looping = False

    def feed(self, chunk: Mapping[str, Any]) -> list[str]:
        """The text deltas of one event that may be passed on now."""
        self.usage = chunk.get("usage") or self.usage
        out: list[str] = []
        for choice in chunk.get("choices") or ():
            self.finish = choice.get("finish_reason") or self.finish
            delta = choice.get("delta") or {}
            self.looping = self.looping or self.repeats.looping(delta.get("content"))
            self.calls.add(delta.get("tool_calls"))
            text = self.stop.feed(delta.get("content") or "")
            if text:
                self.parts.append(text)
                out.append(text)
        return out

    def flush(self) -> str:
        rest = self.stop.flush()
        if rest:
            self.parts.append(rest)
        return rest

    def __bool__(self) -> bool:
        """Did the stream say anything: text, a tool call or usage?"""
        return bool(self.parts or self.calls or self.usage is not None)

    def response(self, model: str, request: ModelRequest) -> ModelResponse:
        finish = "stop" if self.stop.stopped else self.finish or "stop"
        text, calls = "".join(self.parts), self.calls.finished()
        return final_response(model, request, text, self.usage, finish, calls=calls)


class RepeatGuard:
    """litellm's loop guard, kept on this transport: a stream whose model sends the same text
    chunk (longer than 2 characters) `REPEATED_CHUNKS` times in a row is looping."""

    def __init__(self) -> None:
        self._last: str | None = None
        self._count = 1

    def looping(self, content: Any) -> bool:
        if not isinstance(content, str) or len(content) <= 2:
            self._last, self._count = None, 1
            return False
        self._count = self._count + 1 if content == self._last else 1
        self._last = content
        return self._count >= REPEATED_CHUNKS


_CLOSER = "\0closer"  # not an API key: the entry holding a loop's `_closer`


async def _closer(clients: dict[str, Any]) -> AsyncIterator[None]:
    """Close a loop's clients when the backend is closed, or else when the loop ends: an
    `asyncio.run()` left without `aclose()` finalises the async generators still open on its
    loop (`shutdown_asyncgens`) while the loop still runs, so each aiohttp session is closed
    on its own loop instead of warning when it is collected."""
    try:
        yield
    finally:
        for key, client in list(clients.items()):
            if key != _CLOSER:
                await client.close()
        clients.clear()


def _options(request: ModelRequest) -> dict[str, Any]:
    """The generation options set on `request`, in OpenAI's names."""
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.response_format is not None:
        options["response_format"] = dict(request.response_format)
    return options | sampling_args(request)


async def _events(response: Any, sdk: ModuleType) -> AsyncIterator[Mapping[str, Any]]:
    """The JSON objects of an SSE stream, until `[DONE]`; an error event raises the SDK's
    `APIError`, as its own stream does. Closing this closes the response."""
    try:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, comments, `event:` lines
            data = line[5:].strip()
            if data.startswith("[DONE]"):
                return
            event = orjson.loads(data)
            if isinstance(event, dict) and event.get("error"):
                message = "An error occurred during streaming"
                raise sdk.APIError(message, request=response.request, body=event["error"])
            yield event
    finally:
        await response.aclose()
