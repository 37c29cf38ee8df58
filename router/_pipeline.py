"""The request pipeline: validate -> score -> decide -> call -> verify -> escalate -> record.

`Pipeline.run` reads top to bottom as those steps. Each external system is a seam handed in:
backends, classifier, ledger and clock. Nothing here knows litellm or ollama.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from router._accounting import Outcome, attempt_failed, attempt_succeeded, build_record
from router._clock import Clock
from router._completion import Attempt, Completion, Decision, StreamChunk, Usage
from router._decide import decide
from router._records import AttemptRecord, RequestRecord
from router._request import RoutedRequest
from router._retry import Deadline, call_with_retries
from router.backends import Backend, ModelChunk, ModelRequest, ModelResponse
from router.errors import (
    AllAttemptsFailedError,
    AttemptFailure,
    BackendError,
    DeadlineExceededError,
    RouterError,
    SensitiveDataError,
    TransientBackendError,
)
from router.policy import Policy
from router.pricing import PriceTable

if TYPE_CHECKING:
    from router.classifier import Classifier
    from router.ledger import Ledger
    from router.telemetry import RequestTrace, Telemetry

log = logging.getLogger("router")


@dataclass(frozen=True)
class Seams:
    """Everything the pipeline talks to, chosen once by `Router`."""

    policy: Policy
    local: Backend
    frontier: tuple[Backend, ...]
    classifier: Classifier | None
    ledger: Ledger | None
    clock: Clock
    prices: PriceTable
    telemetry: Telemetry


@dataclass
class _Progress:
    """What one request has done so far; private to a single `run`."""

    request: RoutedRequest
    decision: Decision
    deadline: Deadline
    started: float
    trace: RequestTrace
    attempts: list[AttemptRecord] = field(default_factory=list)
    failures: list[AttemptFailure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Step:
    backend: Backend
    escalation: str | None  # why this backend is tried, when it is not the first choice


class Pipeline:
    def __init__(self, seams: Seams) -> None:
        self.seams = seams

    async def run(self, request: RoutedRequest) -> Completion:
        with self.seams.telemetry.request(request, self.seams.policy) as trace:
            progress = self._start(request, trace)
            try:
                answer, step = await self._call(progress)
            except RouterError as exc:
                await self._finish(self._outcome(progress, None, None, error=exc), trace)
                raise
            outcome = self._outcome(progress, answer, step)
            record = await self._finish(outcome, trace)
            return self._completion(record, outcome, progress.decision)

    async def stream(self, request: RoutedRequest) -> AsyncIterator[StreamChunk]:
        telemetry = self.seams.telemetry
        with telemetry.request(request, self.seams.policy, activate=False) as trace:
            progress = self._start(request, trace)
            answer: ModelResponse | None = None
            try:
                for step in self._plan(progress):
                    async for chunk in self._stream_step(progress, step):
                        if chunk.final is not None:
                            answer = chunk.final
                        else:
                            yield StreamChunk(text=chunk.delta)
                    if answer is not None:
                        break
                if answer is None:
                    raise self._exhausted(progress)
            except RouterError as exc:
                await self._finish(self._outcome(progress, None, None, error=exc), trace)
                raise
            outcome = self._outcome(progress, answer, step)
            record = await self._finish(outcome, trace)
            yield StreamChunk(
                text="", completion=self._completion(record, outcome, progress.decision)
            )

    # -- steps -------------------------------------------------------------------------------

    def _start(self, request: RoutedRequest, trace: RequestTrace) -> _Progress:
        clock, policy = self.seams.clock, self.seams.policy
        started = clock.monotonic()
        with trace.stage("router.score"):
            decision = decide(request, policy, self.seams.classifier)
        trace.set_decision(decision)
        deadline = Deadline(clock, policy.retries.deadline_s)
        return _Progress(request, decision, deadline, started, trace)

    def _plan(self, progress: _Progress) -> list[_Step]:
        """Backends in the order to try them: the decided tier first, then allowed fallbacks."""
        seams, request = self.seams, progress.request
        local = [_Step(seams.local, None)]
        if request.sensitive:
            return local
        if progress.decision.tier == "local":
            if not seams.policy.routing.escalate_when_local_down:
                return local
            return local + [_Step(b, "local-failed") for b in seams.frontier]
        first, *rest = seams.frontier or (seams.local,)
        return [_Step(first, None)] + [_Step(b, "frontier-fallback") for b in rest]

    async def _call(self, progress: _Progress) -> tuple[ModelResponse, _Step]:
        for step in self._plan(progress):
            try:
                return await self._call_with_retries(progress, step.backend), step
            except BackendError as exc:
                progress.failures.append(AttemptFailure(exc.model, exc.provider, exc))
            except DeadlineExceededError as exc:
                b = step.backend
                progress.failures.append(AttemptFailure(b.model, b.provider, exc))
                break
        raise self._exhausted(progress)

    async def _call_with_retries(self, progress: _Progress, backend: Backend) -> ModelResponse:
        async def attempt(timeout_s: float) -> ModelResponse:
            started = self.seams.clock.monotonic()
            model_request = self._model_request(progress, timeout_s)
            try:
                with progress.trace.attempt(backend, model_request) as traced:
                    response = await backend.complete(model_request)
                    traced.set_response(response)
            except BackendError as exc:
                self._note_failure(progress, backend, exc, started)
                raise
            progress.attempts.append(
                attempt_succeeded(backend, response, self._ms_since(started), self.seams.prices)
            )
            return response

        policy = self.seams.policy
        return await call_with_retries(
            attempt, retries=policy.retries, deadline=progress.deadline, clock=self.seams.clock
        )

    async def _stream_step(self, progress: _Progress, step: _Step) -> AsyncIterator[ModelChunk]:
        """Stream from one backend; retry only while nothing has been sent to the caller."""
        backend, policy = step.backend, self.seams.policy
        for try_number in range(1, policy.retries.max_attempts + 1):
            sent_any, started = False, self.seams.clock.monotonic()
            request = self._model_request(progress, progress.deadline.check())
            try:
                with progress.trace.attempt(backend, request) as traced:
                    async for chunk in backend.stream(request):
                        sent_any = sent_any or bool(chunk.delta)
                        if chunk.final is not None:
                            traced.set_response(chunk.final)
                            progress.attempts.append(
                                attempt_succeeded(
                                    backend, chunk.final, self._ms_since(started), self.seams.prices
                                )
                            )
                        yield chunk
                return
            except BackendError as exc:
                self._note_failure(progress, backend, exc, started)
                retryable = isinstance(exc, TransientBackendError)
                if sent_any or not retryable or try_number == policy.retries.max_attempts:
                    if sent_any:
                        raise
                    progress.failures.append(AttemptFailure(exc.model, exc.provider, exc))
                    return
                await self.seams.clock.sleep(
                    policy.retries.backoff_initial_s * 2 ** (try_number - 1)
                )

    def _exhausted(self, progress: _Progress) -> RouterError:
        if progress.request.sensitive:
            names = "; ".join(f.describe() for f in progress.failures)
            return SensitiveDataError(
                "the request is sensitive, so it may only use the local model, and that failed "
                f"({names}); start Ollama or retry later: it is never sent to a frontier API"
            )
        return AllAttemptsFailedError(progress.failures)

    def _note_failure(
        self, progress: _Progress, backend: Backend, exc: BackendError, started: float
    ) -> None:
        elapsed = self._ms_since(started)
        progress.attempts.append(attempt_failed(backend, exc, elapsed, self.seams.prices))
        log.warning(
            "attempt failed: provider=%s model=%s error=%s status=%s",
            backend.provider,
            backend.model,
            type(exc).__name__,
            exc.status_code,
        )

    def _model_request(self, progress: _Progress, timeout_s: float) -> ModelRequest:
        request = progress.request
        return ModelRequest(
            messages=request.messages,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            response_format=request.response_format,
            timeout_s=timeout_s,
        )

    # -- record and return ---------------------------------------------------------------------

    def _outcome(
        self,
        progress: _Progress,
        answer: ModelResponse | None,
        step: _Step | None,
        *,
        error: RouterError | None = None,
    ) -> Outcome:
        decision = progress.decision
        return Outcome(
            request=progress.request,
            attempts=tuple(progress.attempts),
            answer=answer,
            answered_by=step.backend if step else None,
            rule=decision.rule,
            score=decision.score,
            threshold=decision.threshold,
            latency_ms=self._ms_since(progress.started),
            verification="skipped" if answer is not None else None,
            escalation_reason=step.escalation if step else None,
            error=error,
        )

    async def _finish(self, outcome: Outcome, trace: RequestTrace) -> RequestRecord:
        """Account for the request, report it to telemetry, and write the ledger row."""
        seams = self.seams
        record = build_record(outcome, seams.policy, seams.prices, seams.clock.now())
        trace.finish(record)
        with trace.stage("router.ledger.write"):
            await self._record(record)
        return record

    async def _record(self, record: RequestRecord) -> None:
        """Write the ledger row. A ledger problem never fails the caller's request."""
        ledger = self.seams.ledger
        if ledger is None:
            return
        try:
            await asyncio.to_thread(ledger.record, record)
        except Exception:  # the ledger promises not to raise; this is the belt to its braces
            log.exception("ledger write failed for request %s", record.request_id)

    def _completion(
        self, record: RequestRecord, outcome: Outcome, decision: Decision
    ) -> Completion:
        answer, backend = outcome.answer, outcome.answered_by
        assert answer is not None and backend is not None
        return Completion(
            request_id=record.request_id,
            text=answer.text,
            tier=backend.tier,
            model=backend.model,
            decision=decision,
            usage=Usage(answer.input_tokens, answer.output_tokens),
            cost_usd=record.cost_usd,
            baseline_usd=record.baseline_cost_usd,
            savings_usd=record.savings_usd,
            finish_reason=answer.finish_reason,
            latency_ms=record.latency_ms,
            attempts=tuple(_public_attempt(a) for a in record.attempts),
            verification=record.verification,
            escalation_reason=record.escalation_reason,
        )

    def _ms_since(self, started: float) -> float:
        return (self.seams.clock.monotonic() - started) * 1000.0


def _public_attempt(record: AttemptRecord) -> Attempt:
    return Attempt(
        model=record.model,
        provider=record.provider,
        tier=record.tier,
        outcome=record.outcome,
        latency_ms=record.latency_ms,
        input_tokens=record.tokens_in,
        output_tokens=record.tokens_out,
        cost_usd=record.cost_usd,
        error_class=record.error_class,
    )
