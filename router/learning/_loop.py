"""`LearningLoop`: the background half of learning, fed by the pipeline's last step.

`observe()` is all the request path pays: it checks the request may be kept, queues its row
and, when there is more to do (a shadow comparison, an escalation to label), starts a task; it
never blocks, never raises, and never holds the caller's answer back. The tasks run on the
caller's event loop after the answer is returned, at most `max_pending` at a time per loop
(more are dropped and counted); paid calls go through the learning budget, at most
`max_concurrent_calls` at a time. Rows are written in batches on a worker thread.
`drain()` (called by `Router.aclose`) waits for the queued work, cancelling what is left after
its timeout (a cancelled paid call is recorded as possibly billed).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from router._accounting import attempt_failed, attempt_succeeded
from router._clock import Clock
from router._records import AttemptRecord
from router._request import count_prompt_tokens
from router.backends import Backend, ModelRequest, ModelResponse
from router.errors import BackendError, RequestCancelledError
from router.learning._budget import ZERO, LearningBudget
from router.learning._feedback import (
    FeedbackReceipt,
    check_note,
    feedback_score,
    record_feedback,
)
from router.learning._judges import (
    AskFrontier,
    Comparison,
    GainLabel,
    Judge,
    UserJudge,
    build_judges,
)
from router.learning._judges import judge_pair as _judge_pair
from router.learning._labels import Finished, attempt_row, featurized, label_row, request_row
from router.learning._shadow import (
    keep_refusal,
    local_shadow_refusal,
    sampled,
    shadow_refusal,
    shadow_weight,
)
from router.learning._store import Batch, LearningStore
from router.learning._worker import Worker as _Worker
from router.learning._worker import Writer as _Writer
from router.policy import Policy, preferred_frontier
from router.verify import VerificationResult, checked_content

if TYPE_CHECKING:
    from router._accounting import Outcome
    from router._pipeline import Seams
    from router._records import RequestRecord
    from router.budget import BudgetStore
    from router.classifier._features import PromptFeatures

log = logging.getLogger("router")
Featurize = Callable[[str], Mapping[int, float]]
_TOKEN_MARGIN = 1.25  # a provider may count a prompt's tokens differently from tiktoken


@dataclass
class LearningStats:
    """What the loop did in this process (counters; for tests, logs and the demo)."""

    kept: int = 0
    shadowed: int = 0
    labelled: dict[str, int] = field(default_factory=dict)
    refused_by_budget: int = 0
    dropped: int = 0
    failed_calls: int = 0

    def count_label(self, source: str) -> None:
        self.labelled[source] = self.labelled.get(source, 0) + 1


class LearningLoop:
    """Keeps labelled requests, runs shadow comparisons and judges them, takes feedback."""

    def __init__(
        self,
        store: LearningStore,
        budget_store: BudgetStore,
        *,
        frontier_for: Callable[[Policy], tuple[Backend, ...]],
        clock: Clock,
        judges: Sequence[Judge | UserJudge] = (),
        max_pending: int = 1000,
        max_concurrent_calls: int = 4,
        flush_delay_s: float = 0.2,
        drain_timeout_s: float = 60.0,
        featurize: Featurize | None = None,
        features_version: str | None = None,
    ) -> None:
        self.store = store
        self.budget = LearningBudget(budget_store)
        self.stats = LearningStats()
        self._frontier_for = frontier_for
        self._clock = clock
        self._extra_judges = tuple(judges)
        self._max_pending = max_pending
        self._max_calls = max_concurrent_calls
        self._flush_delay_s = flush_delay_s
        self._drain_timeout_s = drain_timeout_s
        self._featurize = featurize
        self._features_version = features_version
        self._workers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Worker] = (
            weakref.WeakKeyDictionary()
        )

    # -- the request path's only call ------------------------------------------------------

    def observe(
        self,
        outcome: Outcome,
        record: RequestRecord,
        rejected_local: ModelResponse | None,
        seams: Seams,
        *,
        features: PromptFeatures | None = None,
        verification: VerificationResult | None = None,
    ) -> None:
        """Take an answered request (with the prompt features its score was computed from, if
        any: they are stored instead of being extracted again; and its answer's verification).
        Returns at once; never raises."""
        try:
            self._observe(
                outcome, record, rejected_local, seams, features=features, verification=verification
            )
        except Exception:  # learning must never fail a request
            log.exception("learning: could not take a request")

    def _observe(
        self,
        outcome: Outcome,
        record: RequestRecord,
        rejected_local: ModelResponse | None,
        seams: Seams,
        *,
        features: PromptFeatures | None,
        verification: VerificationResult | None,
    ) -> None:
        answer, backend = outcome.answer, outcome.answered_by
        if answer is None or backend is None or keep_refusal(outcome.request) is not None:
            return
        item = Finished(
            request=outcome.request,
            answer=answer.text,
            tier=backend.tier,
            rejected_local=rejected_local.text if rejected_local is not None else None,
            decision_score=outcome.score if outcome.rule != "token-count" else None,
            artefact_version=record.artefact_version,
            finished_at=record.created_at,
            prices=seams.prices,
            local=seams.local,
            local_model=seams.local.model,
            frontier_model=self._frontier_model(outcome.request.policy, outcome),
            features=features,
        )
        worker = self._worker()
        worker.writer.add_request(request_row(item))
        self.stats.kept += 1
        if checked_content(verification):
            self._label_verified(worker, item)
        if self._has_work(item):
            worker.submit(self._process(item, worker), self.stats)

    @staticmethod
    def _has_work(item: Finished) -> bool:
        if item.rejected_local is not None and item.tier == "frontier":
            return True
        if item.tier == "frontier":
            return local_shadow_refusal(item.request) is None
        return shadow_refusal(item.request) is None

    def _frontier_model(self, policy: Policy, outcome: Outcome) -> str | None:
        backend = outcome.answered_by
        if backend is not None and backend.tier == "frontier":
            return backend.model
        first = next(iter(self._frontier_for(policy)), None)
        return first.model if first is not None else None

    # -- background work -------------------------------------------------------------------

    async def _process(self, item: Finished, worker: _Worker) -> None:
        calls = _Calls(self, item, worker)
        try:
            if item.rejected_local is not None and item.tier == "frontier":
                await self._label_escalation(item, calls)
            elif item.tier == "frontier":
                await self._shadow_locally(item, calls)
            else:
                await self._shadow(item, calls)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug here must not surface in the caller's loop as noise
            log.exception("learning: processing a request failed")

    async def _shadow(self, item: Finished, calls: _Calls) -> None:
        request = item.request
        backend = self._judge_backend(item)
        if backend is None:
            return
        policy = request.policy
        asked = ModelRequest(
            messages=request.messages,
            max_tokens=request.max_tokens or policy.limits.max_output_tokens,
            temperature=request.temperature,
            response_format=request.response_format,
            timeout_s=policy.retries.deadline_s,
        )
        response = await calls.paid(backend, asked, "shadow")
        if response is None:
            return
        self.stats.shadowed += 1
        label = await _judge_pair(
            self.judges_for(policy), self._comparison(item, item.answer, response.text, calls)
        )
        if label is not None:
            self._label(calls.worker, item, "shadow", label, policy.learning.shadow_rate)

    async def _shadow_locally(self, item: Finished, calls: _Calls) -> None:
        """Ask the local model too, for a request a frontier model answered."""
        request = item.request
        asked = ModelRequest(
            messages=request.messages,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            response_format=request.response_format,
            timeout_s=request.policy.retries.deadline_s,
        )
        response = await calls.paid(item.local, asked, "shadow")
        if response is None:
            return
        self.stats.shadowed += 1
        comparison = self._comparison(item, response.text, item.answer, calls)
        label = await _judge_pair(self.judges_for(request.policy), comparison)
        if label is not None:
            rate = request.policy.learning.local_shadow_rate
            self._label(calls.worker, item, "shadow", label, rate)

    async def _label_escalation(self, item: Finished, calls: _Calls) -> None:
        assert item.rejected_local is not None
        comparison = self._comparison(item, item.rejected_local, item.answer, calls)
        label = await _judge_pair(self.judges_for(item.request.policy), comparison)
        # No judge could tell: the failed verification itself says the local answer fell short.
        self._label(calls.worker, item, "escalation", label or GainLabel(1.0, "verification", 0.5))

    def _label_verified(self, worker: _Worker, item: Finished) -> None:
        """A sampled local answer that a check of its content passed: a label of no gain,
        weighing 1 / the sampled share (it stands for the unsampled ones). A shadow or feedback
        label of the same request replaces it in training (`labelled_examples`)."""
        rate = item.request.policy.learning.verified_label_rate
        if item.tier == "local" and sampled(item.request.request_id, rate, "verified"):
            self._label(worker, item, "verified", GainLabel(0.0, "verification", 1.0 / rate))

    def _label(
        self, worker: _Worker, item: Finished, source: str, label: GainLabel, rate: float = 1.0
    ) -> None:
        """Store the label at its judge's confidence times `shadow_weight(rate)`: the rate a
        shadow was sampled at; 1 (weight unchanged) for every other label."""
        label = replace(label, weight=label.weight * shadow_weight(rate))
        row = label_row(item.request.request_id, source, label, self.now())
        worker.writer.add(Batch(labels=[row]))
        self.stats.count_label(source)

    def _comparison(self, item: Finished, local: str, frontier: str, calls: _Calls) -> Comparison:
        backend = None if item.request.redactions else self._judge_backend(item)
        ask = None if backend is None else calls.asker(backend)
        return Comparison(item.request.request_id, item.request.scoring_text, local, frontier, ask)

    def _judge_backend(self, item: Finished) -> Backend | None:
        """The frontier model an escalation would try first: shadowed and judging with it."""
        policy, request = item.request.policy, item.request
        backends = {b.model: b for b in self._frontier_for(policy)}
        for name in preferred_frontier(policy, request.scoring_text):
            if name in backends:
                return backends[name]
        return next(iter(backends.values()), None)

    def judges_for(self, policy: Policy) -> tuple[Judge, ...]:
        return build_judges(policy.learning.judges, self._extra_judges)

    # -- feedback, draining ----------------------------------------------------------------

    async def feedback(
        self,
        request_id: str,
        *,
        score: float | None = None,
        good: bool | None = None,
        note: str | None = None,
        keep_note: bool = False,
    ) -> FeedbackReceipt:
        """Record feedback on a routed request (see router/learning/_feedback.py)."""
        value = feedback_score(score, good)
        checked = check_note(note)
        if not isinstance(request_id, str) or not request_id:
            raise ValueError("request_id must be a non-empty string")
        await self.flush()  # rows this process queued are written first
        receipt = await asyncio.to_thread(
            record_feedback,
            self.store,
            request_id,
            value,
            note=checked,
            keep_note=keep_note,
            now=self.now(),
        )
        if receipt.outcome != "unchanged":
            self.stats.count_label("feedback")
        return receipt

    async def flush(self) -> None:
        """Write the rows this event loop has queued so far."""
        worker = self._workers.get(asyncio.get_running_loop())
        if worker is not None:
            await worker.writer.flush()

    async def drain(self, timeout_s: float | None = None) -> None:
        """Finish this event loop's queued work (cancel what is left after the timeout), then
        write every queued row."""
        worker = self._workers.get(asyncio.get_running_loop())
        if worker is not None:
            await worker.drain(self._drain_timeout_s if timeout_s is None else timeout_s)

    def close(self) -> None:
        self.store.close()

    def now(self) -> datetime:
        return self._clock.now()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def _worker(self) -> _Worker:
        loop = asyncio.get_running_loop()
        worker = self._workers.get(loop)
        if worker is None:
            writer = _Writer(self.store, self._write_prepared, self._flush_delay_s)
            worker = self._workers[loop] = _Worker(writer, self._max_pending, self._max_calls)
        return worker

    def _write_prepared(self, batch: Batch) -> Batch:
        """On the writer's thread: turn request texts (or the features their score was
        computed from, with the default featurizer) into hashed features."""
        featurize, version = self._featurizer()
        reuse = featurize is _default_featurize()
        batch.requests = [featurized(row, featurize, version, reuse) for row in batch.requests]
        return batch

    def _featurizer(self) -> tuple[Featurize, str]:
        if self._featurize is None:
            from router.learning._examples import FEATURES_VERSION  # noqa: PLC0415

            self._featurize, self._features_version = _default_featurize(), FEATURES_VERSION
        return self._featurize, self._features_version or "custom"


class _Calls:
    """The paid learning calls of one request: budget, attempt records and their numbering."""

    def __init__(self, loop: LearningLoop, item: Finished, worker: _Worker) -> None:
        self.loop = loop
        self.item = item
        self.worker = worker
        self._seq: dict[str, int] = {}

    async def paid(
        self, backend: Backend, asked: ModelRequest, purpose: str
    ) -> ModelResponse | None:
        """One paid call within the learning budget; its attempt is recorded either way."""
        loop, prices = self.loop, self.item.prices
        cap = self.item.request.policy.learning.budget_usd_per_day
        tokens_in = int(count_prompt_tokens(asked.messages) * _TOKEN_MARGIN) + 16
        most = prices.cost(backend.model, tokens_in, asked.max_tokens or 0)
        async with self.worker.calls:
            reservation = await loop.budget.reserve(loop.now(), cap, most)
            if reservation is None and most > 0:  # a free (local) call needs no budget
                loop.stats.refused_by_budget += 1
                return None
            started = loop.monotonic()
            response, attempt = None, None
            try:
                response = await backend.complete(asked)
                attempt = attempt_succeeded(backend, response, self._ms(started), prices, purpose)
            except BackendError as exc:
                loop.stats.failed_calls += 1
                attempt = attempt_failed(backend, exc, self._ms(started), prices, purpose)
            except asyncio.CancelledError:
                gone = RequestCancelledError("the router closed before this learning call ended")
                attempt = attempt_failed(backend, gone, self._ms(started), prices, purpose)
                raise
            finally:
                if attempt is None:  # an error we do not map: count it as possibly billed
                    gone = RequestCancelledError("the learning call ended unexpectedly")
                    attempt = attempt_failed(backend, gone, self._ms(started), prices, purpose)
                if reservation is not None:
                    charged = _charged(attempt, most)
                    await asyncio.shield(loop.budget.settle(reservation, charged))
                self._record(attempt)
        return response

    def asker(self, backend: Backend) -> AskFrontier:
        async def ask(messages: Sequence[Mapping[str, str]], max_tokens: int) -> str | None:
            asked = ModelRequest(messages=tuple(messages), max_tokens=max_tokens, temperature=0.0)
            response = await self.paid(backend, asked, "judge")
            return None if response is None else response.text

        return ask

    def _record(self, attempt: AttemptRecord) -> None:
        seq = self._seq.get(attempt.purpose, 0)
        self._seq[attempt.purpose] = seq + 1
        row = attempt_row(self.item.request.request_id, seq, attempt, self.loop.now())
        self.worker.writer.add(Batch(attempts=[row]))

    def _ms(self, started: float) -> float:
        return (self.loop.monotonic() - started) * 1000.0


def _default_featurize() -> Featurize:
    from router.learning._examples import hashed_features  # noqa: PLC0415 - the model's, when used

    return hashed_features


def _charged(attempt: AttemptRecord, most: Decimal) -> Decimal:
    """What a call counts against the budget: its cost, or its maximum if it may have been
    billed without an answer."""
    if attempt.possibly_billed:
        return most
    return attempt.cost_usd if attempt.outcome == "ok" else ZERO
