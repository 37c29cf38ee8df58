"""Streaming over the same pipeline: deltas as they arrive, the Completion last.

Each backend is called through the same per-backend retry budget and circuit breaker as
`complete()` (router/_breaker.py, router/_retry.py). Retries and fallbacks happen only before the
first delta reaches the caller; after that a failure is raised as the backend's typed error, and
the attempt is recorded (possibly billed, when a frontier model had started answering). With
verifiers on, a local answer is held back until it passes (so it may be retried whole); if it
fails, the frontier answer streams instead. With redactions, a frontier answer is held and sent
restored (a placeholder may straddle chunks). A stream the caller closes or cancels early
settles its budget reservation at once (see `Pipeline._abandon`).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TypeVar

from router._accounting import attempt_succeeded
from router._completion import StreamChunk
from router._pipeline import Pipeline, _Progress, _Step
from router._request import RoutedRequest
from router._retry import StreamRetries
from router.backends import Backend, ModelChunk, ModelResponse
from router.backends._base import warm
from router.errors import AttemptFailure, BackendError, DeadlineExceededError, RouterError

T = TypeVar("T")


class StreamingPipeline(Pipeline):
    """`Pipeline` plus `stream()`."""

    async def stream(self, request: RoutedRequest) -> AsyncGenerator[StreamChunk, None]:
        """Stream the answer. With verifiers on, a local answer is held back until it passes;
        if it fails, the frontier answer is streamed instead (see docs/verification.md)."""
        telemetry = self.seams.telemetry
        with telemetry.request(request, request.policy, activate=False) as trace:
            progress = await self._start(request, trace)
            hold_local = self._verifier_for(request) is not None
            got: list[tuple[ModelResponse, _Step]] = []
            try:
                steps = self._stream_steps(progress, self._plan(progress), got, hold_local)
                async with _closing(steps) as texts:
                    async for text in texts:
                        yield StreamChunk(text=text, model=progress.streaming_from)
                answer, step = got[-1]
                if hold_local and step.backend.tier == "local":
                    async with _closing(self._stream_verified(progress, answer, step, got)) as rest:
                        async for text in rest:
                            yield StreamChunk(text=text, model=progress.streaming_from)
                    answer, step = got[-1]
            except RouterError as exc:
                await self._finish(self._outcome(progress, None, None, error=exc), trace, progress)
                raise
            except BaseException as exc:  # closed or cancelled by the caller mid-stream
                await self._abandon(progress, exc)
                raise
            outcome = self._outcome(progress, answer, step)
            record = await self._finish(outcome, trace, progress)
            self._hand_to_learning(outcome, record, progress)
            yield StreamChunk(text="", completion=self._completion(record, outcome, progress))

    async def _stream_steps(
        self,
        progress: _Progress,
        steps: Sequence[_Step],
        got: list[tuple[ModelResponse, _Step]],
        hold_local: bool = False,
    ) -> AsyncIterator[str]:
        """Text from the first step that answers (held back for a local step when asked);
        appends (answer, step) to `got`, or raises when every step failed."""
        before = len(got)  # `got` already holds the local answer when escalating after a check
        for step in steps:
            progress.streaming_from = step.backend.model
            hold = hold_local and step.backend.tier == "local"
            try:
                async with _closing(self._stream_step(progress, step, hold)) as chunks:
                    async for chunk in chunks:
                        if chunk.final is not None:
                            got.append((chunk.final, step))
                        elif not hold:
                            yield chunk.delta
            except DeadlineExceededError as exc:  # as in `complete()`: no time for the rest
                b = step.backend
                progress.failures.append(AttemptFailure(b.model, b.provider, exc))
                break
            if len(got) > before:
                return
        raise self._exhausted(progress)

    async def _stream_verified(
        self,
        progress: _Progress,
        answer: ModelResponse,
        step: _Step,
        got: list[tuple[ModelResponse, _Step]],
    ) -> AsyncIterator[str]:
        """Release a held-back local answer if it passes; otherwise stream the frontier's."""
        escalation = [_Step(b, "verification-failed") for b in self._frontier(progress)]
        failed = await self._verify(progress, answer, step)
        if failed and progress.request.sensitive:
            self._sensitive_failed(progress)  # raises, or the local answer stands (below)
        elif failed and escalation:
            sent = False
            try:
                async with _closing(self._stream_steps(progress, escalation, got)) as texts:
                    async for text in texts:
                        sent = True
                        yield text
                return
            except RouterError:
                if sent:
                    raise
                got.append((answer, step))  # the frontier failed too: the local answer stands
        progress.streaming_from = step.backend.model
        yield answer.text

    async def _stream_step(
        self, progress: _Progress, step: _Step, hold: bool = False
    ) -> AsyncIterator[ModelChunk]:
        """Stream from one backend through its retry budget and circuit breaker, as `complete()`
        does; retry only while nothing has reached the caller (a `hold` step sends nothing until
        it is finished, so it may be retried whole)."""
        backend, clock = step.backend, self.seams.clock
        guard = self._guard(progress, backend)
        retries = progress.request.policy.retries
        rules = StreamRetries(retries, progress.deadline, clock, guard.budget)
        for try_number in itertools.count(1):
            await warm(backend)  # a first call's imports are not the model's latency
            started, received, delivered = clock.monotonic(), False, False
            request = self._model_request(progress, progress.deadline.check(), backend=backend)
            if not guard.breaker.allow():
                exc = self._skipped(progress, backend, "answer")
                progress.failures.append(AttemptFailure(exc.model, exc.provider, exc))
                return
            try:
                with (
                    guard.breaker.watching(),
                    progress.trace.attempt(backend, request) as traced,
                    progress.sending(backend, started, "answer") as answered,
                ):
                    chunks = self._restoring(progress, backend, backend.stream(request))
                    async with _closing(chunks) as stream:
                        async for chunk in stream:
                            if chunk.final is not None:
                                traced.set_response(chunk.final)
                                ms = self._ms_since(started)
                                prices = self.seams.prices
                                progress.attempts.append(
                                    attempt_succeeded(
                                        backend, chunk.final, ms, prices, sent=request
                                    )
                                )
                                answered()
                            received = received or bool(chunk.delta)
                            delivered = delivered or (bool(chunk.delta) and not hold)
                            yield chunk
                return
            except BackendError as exc:
                self._note_stream_failure(progress, backend, exc, started, received)
                if delivered:
                    raise  # text already shown cannot be taken back
                wait = rules.wait_after(exc, try_number)
                if wait is None:
                    progress.failures.append(AttemptFailure(exc.model, exc.provider, exc))
                    return
                await clock.sleep(wait)

    def _note_stream_failure(
        self,
        progress: _Progress,
        backend: Backend,
        exc: BackendError,
        started: float,
        received: bool,
    ) -> None:
        """Record a failed stream; a frontier model that had started answering has billed it."""
        self._note_failure(progress, backend, exc, started)
        if received and backend.tier == "frontier":
            progress.attempts[-1] = replace(progress.attempts[-1], possibly_billed=True)

    async def _restoring(
        self, progress: _Progress, backend: Backend, chunks: AsyncIterator[ModelChunk]
    ) -> AsyncIterator[ModelChunk]:
        """With redactions, a placeholder may straddle chunks: hold the text, send it restored."""
        async with _closing(chunks) as stream:
            if not progress.request.redactions or backend.tier != "frontier":
                async for chunk in stream:
                    yield chunk
                return
            async for chunk in stream:
                if chunk.final is not None:
                    final = self._restored(progress, backend, chunk.final)
                    yield ModelChunk(delta=final.text)
                    yield ModelChunk(final=final)


@asynccontextmanager
async def _closing(items: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close an async generator when the block ends, so a stream left early (by the caller, or
    by a failure) ends its backend call and breaker watch now, not when it is collected."""
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
