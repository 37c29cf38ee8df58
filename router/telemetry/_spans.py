"""Span lifecycle: start on entry, optionally make current, end on exit, and mark failures
without content. Plain classes rather than `@contextmanager`: this runs on every request, and
with no SDK configured it should cost next to nothing."""

from __future__ import annotations

import asyncio
from contextvars import Token
from types import TracebackType

from opentelemetry import context, trace
from opentelemetry.trace import Span, Status, StatusCode

from router.errors import BackendError

# CancelledError is a BaseException, but a cancelled request did fail; GeneratorExit (a consumer
# closing a stream early) and KeyboardInterrupt are left alone, as the OpenTelemetry API does.
_FAILURES = (Exception, asyncio.CancelledError)


class SpanScope:
    """Base of the context managers that run a block in a span (`self.span`), then end it.

    An exception leaving the block marks the span failed and is re-raised. With `activate`, the
    span is the current span inside the block (for instrumentation below it, e.g. an HTTP
    client's). Without, the context is left alone: use that when the block spans the `yield`s
    of an async generator, whose steps may run in different contexts.
    """

    span: Span

    def __init__(self, *, activate: bool) -> None:
        self._activate = activate
        self._token: Token[context.Context] | None = None

    def _open(self, span: Span, as_context: context.Context | None = None) -> None:
        """Hold `span`; with `activate`, make it current (`as_context`: the context holding
        it, when the caller has already made one)."""
        self.span = span
        if self._activate:
            self._token = context.attach(as_context or trace.set_span_in_context(span))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if isinstance(exc, _FAILURES):
                record_failure(self.span, exc)
        finally:
            self.span.end()
            if self._token is not None:
                context.detach(self._token)
                self._token = None


class StageScope(SpanScope):
    """An INTERNAL span for one pipeline step; `with` gives the span itself."""

    def __init__(
        self, tracer: trace.Tracer, name: str, parent: context.Context, *, activate: bool
    ) -> None:
        super().__init__(activate=activate)
        self._tracer, self._name, self._parent = tracer, name, parent

    def __enter__(self) -> Span:
        self._open(self._tracer.start_span(self._name, context=self._parent))
        return self.span


def record_failure(span: Span, exc: BaseException) -> None:
    """ERROR status, `error.type` and an `exception` event naming only the exception's class.

    `span.record_exception(exc)` is not used: it records the message, which may hold content.
    """
    error_type = type(exc).__name__
    mark_failed(span, error_type)
    span.add_event("exception", {"exception.type": error_type})
    if isinstance(exc, BackendError) and exc.status_code is not None:
        span.set_attribute("http.response.status_code", exc.status_code)


def mark_failed(span: Span, error_type: str) -> None:
    span.set_status(Status(StatusCode.ERROR))
    span.set_attribute("error.type", error_type)
