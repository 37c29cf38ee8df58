"""`RequestTrace` and `AttemptTrace`: what the pipeline holds while a request is in flight.

Each is a context manager whose span starts on entry and ends on exit. Attributes set after the
start are skipped when the span is not recording (no SDK, or not sampled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer

from router.telemetry._attributes import (
    AttemptStarts,
    decision_attributes,
    outcome_attributes,
    request_attributes,
    response_attributes,
)
from router.telemetry._content import input_messages_json, output_messages_json
from router.telemetry._metrics import Instruments
from router.telemetry._names import ROOT_SPAN_NAME
from router.telemetry._spans import SpanScope, StageScope, mark_failed

if TYPE_CHECKING:
    from router._completion import Decision
    from router._records import RequestRecord
    from router._request import RoutedRequest
    from router.backends._base import Backend, ModelRequest, ModelResponse
    from router.policy import Policy


class AttemptTrace(SpanScope):
    """One model call: a `chat {model}` CLIENT span under the request's span."""

    def __init__(
        self,
        tracer: Tracer,
        parent: Context,
        backend: Backend,
        request: ModelRequest,
        *,
        capture_content: bool,
        activate: bool,
        starts: AttemptStarts | None = None,
    ) -> None:
        super().__init__(activate=activate)
        self._tracer, self._parent = tracer, parent
        self._backend, self._request = backend, request
        self._capture_content = capture_content
        self._starts = starts or AttemptStarts()

    def __enter__(self) -> AttemptTrace:
        name, attributes = self._starts(self._backend, self._request)
        span = self._tracer.start_span(
            name, context=self._parent, kind=SpanKind.CLIENT, attributes=attributes
        )
        if self._capture_content and span.is_recording():
            span.set_attribute("gen_ai.input.messages", input_messages_json(self._request.messages))
        self._open(span)
        return self

    def set_response(self, response: ModelResponse) -> None:
        """Usage, finish reason and response model; the answer text only with capture on."""
        if not self.span.is_recording():
            return
        self.span.set_attributes(response_attributes(response))
        if self._capture_content:
            self.span.set_attribute("gen_ai.output.messages", output_messages_json(response))


class RequestTrace(SpanScope):
    """One routed request: the root `route` span, its child spans, and its metrics."""

    def __init__(
        self,
        tracer: Tracer,
        instruments: Instruments,
        request: RoutedRequest,
        policy: Policy,
        *,
        capture_content: bool,
        activate: bool,
        starts: AttemptStarts | None = None,
    ) -> None:
        super().__init__(activate=activate)
        self._tracer, self._instruments = tracer, instruments
        self._request, self._policy = request, policy
        self._capture_content = capture_content
        self._starts = starts or AttemptStarts()
        self._finished = False

    def __enter__(self) -> RequestTrace:
        attributes = request_attributes(self._request, self._policy)
        span = self._tracer.start_span(ROOT_SPAN_NAME, attributes=attributes)
        # Children name their parent explicitly, so the tree holds even when not activated.
        self._as_parent = trace.set_span_in_context(span)
        self._open(span, self._as_parent)
        return self

    def stage(self, name: str) -> StageScope:
        """An INTERNAL child span for one pipeline step, e.g. `router.score`, `router.verify`."""
        return StageScope(self._tracer, name, self._as_parent, activate=self._activate)

    def set_decision(self, decision: Decision) -> None:
        if self.span.is_recording():
            self.span.set_attributes(decision_attributes(decision))

    def attempt(self, backend: Backend, request: ModelRequest) -> AttemptTrace:
        """A CLIENT child span for one call to `backend`; an exception marks it failed."""
        return AttemptTrace(
            self._tracer,
            self._as_parent,
            backend,
            request,
            capture_content=self._capture_content,
            activate=self._activate,
            starts=self._starts,
        )

    def finish(self, record: RequestRecord) -> None:
        """Write the outcome on the span and count it in the metrics (once per request)."""
        if self._finished:
            return
        self._finished = True
        if self.span.is_recording():
            self.span.set_attributes(outcome_attributes(record))
            if record.status == "error":
                mark_failed(self.span, record.error_class or "_OTHER")
        self._instruments.record_request(record)
