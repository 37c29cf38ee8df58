"""The ASGI app (Starlette): OpenAI's chat completions and models endpoints, health and
readiness, over one `Router` used through its async API on the server's own event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from router._completion import StreamChunk
from router._router import Router
from router.errors import RouterError
from router.gateway._auth import Caller, KeyRing
from router.gateway._errors import HttpError, bad_key, busy, http_error
from router.gateway._health import Check, run_checks
from router.gateway._wire import ChatCall, ChunkWriter, completion_json, parse_chat, routing_headers
from router.policy import Gateway as Limits

log = logging.getLogger("router")
T = TypeVar("T")
_JSON = "application/json"
_RETRY_AFTER_S = 1


@dataclass
class GatewayState:
    """What the app serves from: the router, the keys, the limits and the readiness checks."""

    router: Router
    keys: KeyRing
    limits: Limits
    checks: dict[str, Check]
    in_flight: int = 0


StateFactory = Callable[[], AbstractAsyncContextManager[GatewayState]]


def create_app(state: StateFactory) -> Starlette:
    """The gateway app; `state()` is entered at startup and left at shutdown (after in-flight
    requests have finished), so the router and its ledger close last."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with state() as ready:
            app.state.gateway = ready
            yield

    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(405, _not_found)
    app.add_exception_handler(Exception, _internal_error)  # logged by the server too
    return app


def error_response(error: HttpError, request_id: str | None = None) -> Response:
    headers = dict(error.headers)
    if request_id:
        headers["x-router-request-id"] = request_id
    return Response(error.body(), error.status, headers, _JSON)


async def _not_found(request: Request, exc: Exception) -> Response:
    message = f"Invalid URL ({request.method} {request.url.path})"
    return error_response(HttpError(404, message))


async def _internal_error(request: Request, exc: Exception) -> Response:
    message = f"internal error ({type(exc).__name__}); the gateway's log has the traceback"
    return error_response(HttpError(500, message, "server_error"))


# -- chat completions ---------------------------------------------------------------------------


async def chat_completions(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    request_id = uuid.uuid4().hex
    try:
        caller = _caller(state, request)
        body = await _read_json(request, state.limits.max_body_bytes)
        call = parse_chat(body, caller, request_id, details=_wants_details(request))
        if state.in_flight >= state.limits.max_concurrency:
            raise busy(_RETRY_AFTER_S)
    except HttpError as error:
        return error_response(error)
    state.in_flight += 1
    if call.stream:
        return await _stream(state, call, request_id, request)
    try:
        result = await _unless_disconnected(state.router.acomplete(**call.kwargs), request)
    except RouterError as exc:
        return error_response(http_error(exc), request_id)
    finally:
        state.in_flight -= 1
    if result is None:  # the caller left: the router has recorded the request as cancelled
        return Response(status_code=499)
    return Response(completion_json(result, call.details), 200, routing_headers(result), _JSON)


async def _unless_disconnected(work: Awaitable[T], request: Request) -> T | None:
    """`work`'s result, or None after cancelling it (once, plain asyncio) when the client
    hangs up first: a timed-out caller does not keep a model busy."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None
    return task.result()


def _caller(state: GatewayState, request: Request) -> Caller:
    caller = state.keys.caller(request.headers.get("authorization"))
    if caller is None:
        raise bad_key()
    return caller


def _wants_details(request: Request) -> bool:
    return request.headers.get("x-router-details", "").lower() in ("1", "true", "yes")


async def _read_json(request: Request, limit: int) -> Any:
    """The body parsed as JSON, refused with 413 past `limit` bytes (before reading it all)."""
    length = request.headers.get("content-length", "")
    too_large = HttpError(413, f"The request body is larger than {limit:,} bytes.")
    if length.isdigit() and int(length) > limit:
        raise too_large
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise too_large
    try:
        return json.loads(body)
    except ValueError:
        raise HttpError(
            400,
            "We could not parse the JSON body of your request. The API expects a JSON payload.",
        ) from None


async def _stream(
    state: GatewayState, call: ChatCall, request_id: str, request: Request
) -> Response:
    """Wait for the first chunk before answering, so a request refused or failed before any
    text gets its own status; then stream OpenAI's events."""
    chunks = state.router.astream(**call.kwargs)
    try:
        first = await _unless_disconnected(anext(chunks), request)
    except RouterError as exc:
        state.in_flight -= 1
        return error_response(http_error(exc), request_id)
    except BaseException:
        state.in_flight -= 1
        raise
    if first is None:  # the caller left before the first token: recorded as cancelled
        state.in_flight -= 1
        return Response(status_code=499)
    model = first.completion.model if first.completion else first.model
    events = _events(state, ChunkWriter(call, request_id, model), first, chunks)
    return EventStream(events, {"x-router-request-id": request_id})


async def _events(
    state: GatewayState,
    writer: ChunkWriter,
    chunk: StreamChunk,
    chunks: AsyncIterator[StreamChunk],
) -> AsyncIterator[bytes]:
    try:
        yield writer.role()
        while chunk.completion is None:
            if chunk.text:
                yield writer.text(chunk.text)
            chunk = await anext(chunks)
        yield writer.finish(chunk.completion)
    except RouterError as exc:  # after text was sent: the error goes in the stream
        yield writer.error(http_error(exc))
    finally:
        state.in_flight -= 1
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()


class EventStream(Response):
    """Server-sent events. A client that goes away cancels the stream once (plain asyncio
    cancellation), so the router records the abandoned request before the task ends."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[bytes], headers: dict[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers({**headers, "cache-control": "no-cache"})  # no body: no content-length
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        await send(start)
        pump = asyncio.ensure_future(self._pump(send))
        gone = asyncio.ensure_future(_disconnected(receive))
        await asyncio.wait((pump, gone), return_when=asyncio.FIRST_COMPLETED)
        if not pump.done():
            pump.cancel()
        gone.cancel()
        await asyncio.gather(pump, gone, return_exceptions=True)
        error = None if pump.cancelled() else pump.exception()
        if error is not None:
            raise error  # a bug: let the server log it

    async def _pump(self, send: Send) -> None:
        async for event in self.events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


# -- models and health ---------------------------------------------------------------------------


async def list_models(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    caller = state.keys.caller(request.headers.get("authorization"))
    if caller is None:
        return error_response(bad_key())
    return JSONResponse({"object": "list", "data": _models(state, caller)})


async def retrieve_model(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    caller = state.keys.caller(request.headers.get("authorization"))
    if caller is None:
        return error_response(bad_key())
    wanted = request.path_params["model"]
    for model in _models(state, caller):
        if model["id"] == wanted:
            return JSONResponse(model)
    message = f"The model `{wanted}` does not exist; GET /v1/models lists them"
    return error_response(HttpError(404, message, code="model_not_found", param="model"))


def _models(state: GatewayState, caller: Caller) -> list[dict[str, Any]]:
    """ "auto" (routes) first, then every model a request may be pinned to."""
    names = {"auto": "cost-router", **state.router.models(caller.team, caller.app)}
    return [
        {"id": name, "object": "model", "created": 0, "owned_by": owner}
        for name, owner in names.items()
    ]


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    results = await run_checks(state.checks)
    ready = all(result == "ok" for result in results.values())
    body = {"status": "ready" if ready else "not ready", "checks": results}
    return JSONResponse(body, 200 if ready else 503)
