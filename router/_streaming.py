"""Streaming over the same pipeline: deltas as they arrive, the Completion last.

Retries and fallbacks happen only before the first delta reaches the caller. With verifiers on,
a local answer is held back until it passes; if it fails, the frontier answer streams instead.
With redactions, a frontier answer is held and sent restored (a placeholder may straddle chunks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from router._accounting import attempt_succeeded
from router._completion import StreamChunk
from router._pipeline import Pipeline, _Progress, _Step
from router._request import RoutedRequest
from router.backends import Backend, ModelChunk, ModelResponse
from router.errors import AttemptFailure, BackendError, RouterError, TransientBackendError


class StreamingPipeline(Pipeline):
    """`Pipeline` plus `stream()`."""

    async def stream(self, request: RoutedRequest) -> AsyncIterator[StreamChunk]:
        """Stream the answer. With verifiers on, a local answer is held back until it passes;
        if it fails, the frontier answer is streamed instead (see docs/verification.md)."""
        telemetry = self.seams.telemetry
        with telemetry.request(request, request.policy, activate=False) as trace:
            progress = await self._start(request, trace)
            hold_local = self._verifier_for(request) is not None
            got: list[tuple[ModelResponse, _Step]] = []
            try:
                async for text in self._stream_steps(
                    progress, self._plan(progress), got, hold_local
                ):
                    yield StreamChunk(text=text)
                answer, step = got[-1]
                if hold_local and step.backend.tier == "local":
                    async for text in self._stream_verified(progress, answer, step, got):
                        yield StreamChunk(text=text)
                    answer, step = got[-1]
            except RouterError as exc:
                await self._finish(self._outcome(progress, None, None, error=exc), trace, progress)
                raise
            outcome = self._outcome(progress, answer, step)
            record = await self._finish(outcome, trace, progress)
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
        for step in steps:
            hold = hold_local and step.backend.tier == "local"
            async for chunk in self._stream_step(progress, step):
                if chunk.final is not None:
                    got.append((chunk.final, step))
                elif not hold:
                    yield chunk.delta
            if got:
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
        if failed and escalation and not progress.request.sensitive:
            sent = False
            try:
                async for text in self._stream_steps(progress, escalation, got):
                    sent = True
                    yield text
                return
            except RouterError:
                if sent:
                    raise
                got.append((answer, step))  # the frontier failed too: the local answer stands
        yield answer.text

    async def _stream_step(self, progress: _Progress, step: _Step) -> AsyncIterator[ModelChunk]:
        """Stream from one backend; retry only while nothing has been sent to the caller."""
        backend, policy = step.backend, progress.request.policy
        for try_number in range(1, policy.retries.max_attempts + 1):
            sent_any, started = False, self.seams.clock.monotonic()
            request = self._model_request(progress, progress.deadline.check(), backend=backend)
            try:
                with progress.trace.attempt(backend, request) as traced:
                    async for chunk in self._restoring(progress, backend, backend.stream(request)):
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

    async def _restoring(
        self, progress: _Progress, backend: Backend, chunks: AsyncIterator[ModelChunk]
    ) -> AsyncIterator[ModelChunk]:
        """With redactions, a placeholder may straddle chunks: hold the text, send it restored."""
        if not progress.request.redactions or backend.tier != "frontier":
            async for chunk in chunks:
                yield chunk
            return
        async for chunk in chunks:
            if chunk.final is not None:
                final = self._restored(progress, backend, chunk.final)
                yield ModelChunk(delta=final.text)
                yield ModelChunk(final=final)
