"""What the three loopback servers share: lifecycle, the reply script, the request log, faults."""

from __future__ import annotations

import http
import itertools
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self

from router.testing._http import INVALID_JSON, Exchange, LoopbackHTTPServer
from router.testing._model import (
    ChatRequest,
    RecordedRequest,
    Reply,
    ReplyToolCall,
    Responder,
    Usage,
    count_tokens,
    echo_responder,
    truncate,
)
from router.testing._tools import arguments_text

logger = logging.getLogger("router.testing")

Route = Callable[[Exchange], None]


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful reply, ready to be rendered in a protocol's JSON. `call_ids[i]` is the id
    of `tool_calls[i]`; `stop_sequence` the stop sequence the text was cut at, if any."""

    id: str
    text: str
    finish_reason: str
    usage: Usage
    logprob: float
    omit_usage: bool = False
    tool_calls: tuple[ReplyToolCall, ...] = ()
    call_ids: tuple[str, ...] = ()
    stop_sequence: str | None = None


class ProtocolError(Exception):
    """Raised by a protocol's request parser: answer with this status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoopbackServer:
    """Base class of `OllamaServer`, `OpenAIServer` and `AnthropicServer`.

    `hang_timeout` bounds how long a `Reply(hang=True)` holds its connection (`stop()` ends it
    sooner). `keep_alive=False` (the default) closes each connection after its response, so
    clients never keep pooled sockets that outlive a test's event loop; set it True to test
    connection reuse.
    """

    stream_content_type: ClassVar[str]
    stop_reason: ClassVar[str]
    length_reason: ClassVar[str]
    id_prefix: ClassVar[str]
    tool_reason: ClassVar[str]  # the finish reason of an answer that calls tools
    stop_sequence_reason: ClassVar[str]  # ... and of one cut at a stop sequence
    call_id_prefix: ClassVar[str] = "call_"

    def __init__(self, *, hang_timeout: float = 30.0, keep_alive: bool = False) -> None:
        self.responder: Responder = echo_responder
        self.hang_timeout = hang_timeout
        self.keep_alive = keep_alive
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)

    # --- public API ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`. The server must be started."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """How many scripted replies have not been used yet."""
        with self._lock:
            return len(self._script)

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next chat requests, one each, in order."""
        with self._lock:
            self._script.extend(replies)

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        name = f"router.testing.{type(self).__name__}"
        self._httpd = LoopbackHTTPServer(self._dispatch, name, self.keep_alive)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end hanging requests, close connections and join every thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.close()
        thread.join(5.0)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what each protocol provides ----------------------------------------------------------

    def _routes(self) -> Mapping[tuple[str, str], Route]:
        raise NotImplementedError

    def _parse(self, ex: Exchange) -> ChatRequest:
        """Validate a chat request; raise `ProtocolError` to reject it."""
        raise NotImplementedError

    def _error_body(self, status: int, message: str) -> object:
        raise NotImplementedError

    def _render(self, req: ChatRequest, answer: Answer) -> object:
        raise NotImplementedError

    def _events(self, req: ChatRequest, answer: Answer) -> list[bytes]:
        raise NotImplementedError

    def _not_found(self, ex: Exchange) -> None:
        self._send_error(ex, 404, f"Invalid URL ({ex.method} {ex.path})")

    # --- request handling ---------------------------------------------------------------------

    def _dispatch(self, ex: Exchange) -> None:
        body = None if ex.body is INVALID_JSON else ex.body
        record = RecordedRequest(ex.method, ex.path, ex.headers, body, ex.raw_body)
        with self._lock:
            self._requests.append(record)
        self._routes().get((ex.method, ex.path), self._not_found)(ex)

    def _send_error(self, ex: Exchange, status: int, message: str) -> None:
        ex.send_json(status, self._error_body(status, message))

    def _chat(self, ex: Exchange) -> None:
        """The route for every chat endpoint: parse, pick a reply, play it."""
        if ex.body is INVALID_JSON or not isinstance(ex.body, dict):
            self._send_error(ex, 400, "The request body is not valid JSON.")
            return
        try:
            req = self._parse(ex)
        except ProtocolError as err:
            self._send_error(ex, err.status, err.message)
            return
        try:
            reply = self._next_reply(req)
        except Exception as exc:
            logger.exception("loopback responder failed")
            self._send_error(ex, 500, f"responder failed: {exc!r}")
            return
        self._play(ex, req, reply)

    def _next_reply(self, req: ChatRequest) -> Reply:
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        return scripted if scripted is not None else self.responder(req)

    def _text(self, req: ChatRequest, reply: Reply) -> str:
        if reply.text is not None:
            return reply.text
        fallback = self.responder(req).text
        return fallback if fallback is not None else echo_responder(req).text or ""

    def _play(self, ex: Exchange, req: ChatRequest, reply: Reply) -> None:
        if reply.latency > 0 and self._stopping.wait(reply.latency):
            ex.abort()
            return
        if reply.hang:
            self._stopping.wait(self.hang_timeout)
            ex.abort()
            return
        if reply.drop == "before_headers":
            ex.abort()
            return
        headers = {} if reply.retry_after is None else {"Retry-After": _seconds(reply.retry_after)}
        headers.update(reply.headers or {})
        ctype = reply.content_type or "application/json"
        if reply.body is not None:
            ex.send(reply.status, reply.body, ctype, headers, cut=_cut(reply, len(reply.body)))
        elif reply.status >= 400:
            message = reply.text or _default_message(reply.status)
            body = json.dumps(self._error_body(reply.status, message)).encode()
            ex.send(reply.status, body, ctype, headers, cut=_cut(reply, len(body)))
        elif req.stream:
            events = self._events(req, self._answer(req, reply))
            cut = {"after_headers": 0, "mid_body": max(1, len(events) // 2)}.get(reply.drop)
            ctype = reply.content_type or self.stream_content_type
            delay = reply.chunk_delay
            pause = (lambda: self._stopping.wait(delay)) if delay > 0 else (lambda: False)
            ex.stream(reply.status, ctype, events, headers, pause=pause, cut_after=cut)
        else:
            body = json.dumps(self._render(req, self._answer(req, reply))).encode()
            ex.send(reply.status, body, ctype, headers, cut=_cut(reply, len(body)))

    def _answer(self, req: ChatRequest, reply: Reply) -> Answer:
        number = next(self._ids)
        calls = reply.tool_calls
        text = (reply.text or "") if calls else self._text(req, reply)
        text, stopped_at = cut_at_stop(text, req.stop)
        text, truncated = truncate(text, req.max_tokens)
        finish = self._finish(truncated, stopped_at, bool(calls))
        written = text + "".join(arguments_text(c) for c in calls)
        usage = reply.usage or Usage(count_tokens(req.prompt_text), count_tokens(written))
        return Answer(
            id=f"{self.id_prefix}loopback{number:06d}",
            text=text,
            finish_reason=reply.finish_reason or finish,
            usage=usage,
            logprob=reply.logprob,
            omit_usage=reply.omit_usage,
            tool_calls=calls,
            call_ids=tuple(f"{self.call_id_prefix}{number:06d}{i:02d}" for i in range(len(calls))),
            stop_sequence=stopped_at,
        )

    def _finish(self, truncated: bool, stopped_at: str | None, calls: bool) -> str:
        if truncated:
            return self.length_reason
        if calls:
            return self.tool_reason
        return self.stop_sequence_reason if stopped_at else self.stop_reason


def cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, str | None]:
    """`text` up to the first stop sequence in it (excluded, as servers do), and which one."""
    hits = [(text.find(s), s) for s in stop if s and s in text]
    if not hits:
        return text, None
    at, sequence = min(hits)
    return text[:at], sequence


def _cut(reply: Reply, length: int) -> int | None:
    return {"after_headers": 0, "mid_body": length // 2}.get(reply.drop)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _default_message(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else f"HTTP {status}"


def json_line(obj: Any) -> bytes:
    """One NDJSON line."""
    return json.dumps(obj).encode() + b"\n"


def sse(obj: Any, event: str | None = None) -> bytes:
    """One server-sent event carrying JSON."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(obj)}\n\n".encode()
