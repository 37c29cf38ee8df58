"""The local backend: Ollama through the `ollama` package's async client."""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from router._records import Tier
from router.backends._base import ModelChunk, ModelRequest, ModelResponse, TokenLogprob, ToolCall
from router.backends._ollama_errors import map_ollama_error
from router.backends._timing import bounded
from router.backends._tool_wire import ollama_messages, ollama_tool_calls, ollama_tools
from router.backends._usage import estimate_prompt_tokens, estimate_tokens
from router.errors import BackendError, ModelNotFoundError

if TYPE_CHECKING:  # ollama and httpx load with the first local call, not with `import router`
    import ollama

DEFAULT_HOST = "http://127.0.0.1:11434"


class OllamaBackend:
    """Qwen (or any Ollama model) on this machine. Data sent here never leaves it.

    Ollama's client has no timeout by default; this one always sets connect and read timeouts.
    An httpx client belongs to one event loop, so one is kept per loop.
    """

    def __init__(
        self,
        model: str = "qwen3.5:9b",
        host: str | None = None,
        *,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 120.0,
    ) -> None:
        self._model = model
        self.host = (host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST).rstrip("/")
        self._timeouts = (connect_timeout_s, read_timeout_s)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ollama.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return "ollama"

    @property
    def tier(self) -> Tier:
        return "local"

    async def warm_up(self) -> None:
        """Import the ollama client (and httpx) off the event loop and build this loop's client,
        before the first call is timed. Nothing is sent."""
        if asyncio.get_running_loop() in self._clients:
            return
        await asyncio.to_thread(_import_client)
        self._client()

    def _client(self) -> ollama.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            import httpx  # noqa: PLC0415
            import ollama  # noqa: PLC0415

            connect, read = self._timeouts
            # trust_env=False: the local model is never reached through a proxy.
            client = ollama.AsyncClient(
                host=self.host,
                timeout=httpx.Timeout(read, connect=connect),
                follow_redirects=False,
                trust_env=False,
            )
            self._clients[loop] = client
        return client

    async def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            async with asyncio.timeout(request.timeout_s):
                raw = await self._client().chat(**self._chat_args(request), stream=False)
            return self._response(raw, request)
        except BackendError:
            raise
        except Exception as exc:
            raise self._map(exc) from None

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        parts: list[str] = []
        logprobs: list[Any] = []
        calls: list[ToolCall] = []  # Ollama sends each call whole, in a chunk of its own
        read_s = self._timeouts[1]

        async def opening() -> AsyncIterator[Any]:
            return await self._client().chat(**self._chat_args(request), stream=True)

        try:
            total_s = request.timeout_s or read_s
            async for chunk in bounded(opening, total_s=total_s, stall_s=read_s):
                delta = chunk.message.content or ""
                logprobs.extend(getattr(chunk, "logprobs", None) or ())
                calls.extend(ollama_tool_calls(chunk.message.tool_calls))
                if delta:
                    parts.append(delta)
                    yield ModelChunk(delta=delta)
                if chunk.done:
                    text = "".join(parts)
                    yield ModelChunk(final=self._response(chunk, request, text, logprobs, calls))
                    return
        except BackendError:
            raise
        except Exception as exc:
            raise self._map(exc) from None
        raise self._map(ValueError("stream ended without a final chunk"))

    async def check_ready(self) -> None:
        """Raise a `BackendError` that says what to run if Ollama or the model is missing."""
        try:
            listing = await self._client().list()
        except Exception as exc:
            raise self._map(exc) from None
        names = {m.model for m in listing.models} | {
            str(m.model).split(":")[0] for m in listing.models
        }
        if self._model not in names:
            raise ModelNotFoundError(
                f"Ollama at {self.host} is running but has no {self._model!r}; "
                f"run `ollama pull {self._model}`",
                model=self._model,
                provider="ollama",
                status_code=404,
            )

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.items()), weakref.WeakKeyDictionary()
        current = asyncio.get_running_loop()
        for loop, client in clients:
            if loop is current:
                await client.close()  # type: ignore[no-untyped-call]

    def _chat_args(self, request: ModelRequest) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": self._model,
            "messages": ollama_messages(request.messages),
            "tools": ollama_tools(request),
            "options": _options(request) or None,
        }
        fmt = _ollama_format(request.response_format)
        if fmt is not None:
            args["format"] = fmt
        if request.top_logprobs is not None:  # only when a verifier asked (ollama >= 0.6)
            args["logprobs"] = True
            args["top_logprobs"] = request.top_logprobs
        return args

    def _response(
        self,
        raw: ollama.ChatResponse,
        request: ModelRequest,
        text: str | None = None,
        streamed_logprobs: list[Any] | None = None,
        streamed_calls: list[ToolCall] | None = None,
    ) -> ModelResponse:
        content = raw.message.content or "" if text is None else text
        tokens_in, tokens_out = raw.prompt_eval_count, raw.eval_count
        estimated = tokens_in is None or tokens_out is None
        calls = (
            ollama_tool_calls(raw.message.tool_calls)
            if streamed_calls is None
            else tuple(streamed_calls)  # every chunk's, the final one's included
        )
        return ModelResponse(
            text=content,
            model=raw.model or self._model,
            # Ollama omits prompt_eval_count when the prompt was cached: estimate it then.
            input_tokens=tokens_in if tokens_in is not None else estimate_prompt_tokens(request),
            output_tokens=tokens_out if tokens_out is not None else estimate_tokens(content),
            finish_reason=_finish_reason(raw.done_reason, bool(calls)),
            usage_estimated=estimated,
            tool_calls=calls,
            logprobs=_logprobs(
                getattr(raw, "logprobs", None) if streamed_logprobs is None else streamed_logprobs
            ),
        )

    def _map(self, exc: BaseException) -> BackendError:
        return map_ollama_error(exc, model=self._model, host=self.host)


def _import_client() -> None:
    import httpx  # noqa: PLC0415, F401 - lazy on purpose: `import router` stays light
    import ollama  # noqa: PLC0415, F401


def _logprobs(raw: Any) -> tuple[TokenLogprob, ...] | None:
    """Ollama's `logprobs` (a list of {token, logprob, top_logprobs}) as frozen records."""
    if not raw:
        return None
    return tuple(
        TokenLogprob(
            str(entry.token),
            float(entry.logprob),
            tuple(
                TokenLogprob(str(alt.token), float(alt.logprob))
                for alt in (getattr(entry, "top_logprobs", None) or ())
            ),
        )
        for entry in raw
    )


def _finish_reason(done_reason: str | None, tool_calls: bool = False) -> str:
    """OpenAI's finish reason: Ollama says "stop" after tool calls, OpenAI "tool_calls"."""
    reason = {"length": "length", "stop": "stop", None: "stop"}.get(
        done_reason, done_reason or "stop"
    )
    return "tool_calls" if tool_calls and reason == "stop" else reason


def _options(request: ModelRequest) -> dict[str, Any]:
    """Ollama's `options`: num_predict, temperature, top_p, stop and seed, where set."""
    values = {
        "num_predict": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": list(request.stop) or None,
        "seed": request.seed,
    }
    return {key: value for key, value in values.items() if value is not None}


def _ollama_format(response_format: Mapping[str, Any] | None) -> str | dict[str, Any] | None:
    """OpenAI-style `response_format` to Ollama's `format` (JSON mode or a JSON schema)."""
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema")
        return dict(schema) if isinstance(schema, Mapping) else "json"
    return "json" if kind == "json_object" else None
