"""The request pipeline: validate -> budget -> score -> decide -> call -> verify -> escalate ->
record (and settle the budget) -> hand to the learning loop.

`Pipeline.run` reads top to bottom as those steps. Each external system is a seam handed in:
backends, classifier, ledger and clock. Nothing here knows litellm or ollama.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from router._accounting import Outcome, attempt_failed, attempt_succeeded, build_record
from router._breaker import BackendGuard, Guards
from router._clock import Clock
from router._completion import Attempt, Completion, Decision, Usage
from router._decide import decide_with_features
from router._records import AttemptRecord, RequestRecord
from router._request import RoutedRequest
from router._retry import Deadline, call_with_retries
from router._scoring import Classifier, pinned, version_of
from router.backends import Backend, ModelRequest, ModelResponse
from router.backends._base import warm
from router.budget import BudgetGuard, guarded, open_guard
from router.errors import (
    AllAttemptsFailedError,
    AttemptFailure,
    BackendError,
    BudgetExceededError,
    CircuitOpenError,
    DeadlineExceededError,
    RequestCancelledError,
    RouterError,
    SensitiveDataError,
    UnknownModelError,
)
from router.policy import Policy, preferred_frontier
from router.pricing import PriceTable

if TYPE_CHECKING:
    from router.budget import BudgetStore
    from router.classifier._features import PromptFeatures
    from router.learning import LearningLoop
    from router.ledger import Ledger
    from router.ledger._group import GroupCommit
    from router.telemetry import RequestTrace, Telemetry
    from router.verify import VerificationResult, Verifier

log = logging.getLogger("router")
T = TypeVar("T")


@dataclass(frozen=True)
class Seams:
    """Everything the pipeline talks to, chosen once by `Router`."""

    local: Backend
    frontier_for: Callable[[Policy], tuple[Backend, ...]]
    classifier: Classifier | None
    ledger: Ledger | None
    clock: Clock
    prices: PriceTable
    telemetry: Telemetry
    verifier: Verifier | None = None
    budget: BudgetStore | None = None
    learning: LearningLoop | None = None
    ledger_writer: GroupCommit | None = None  # batches `ledger`'s rows (see ledger_writer())


@dataclass
class _Progress:
    """What one request has done so far; private to a single `run`."""

    request: RoutedRequest
    decision: Decision
    deadline: Deadline
    started: float
    trace: RequestTrace
    attempts: list[AttemptRecord] = field(default_factory=list)
    verification: VerificationResult | None = None
    failures: list[AttemptFailure] = field(default_factory=list)
    budget: BudgetGuard | None = None
    in_flight: list[tuple[Backend, float, str]] = field(default_factory=list)
    artefact_version: str | None = None  # the classifier artefact that scored the request
    features: PromptFeatures | None = None  # what it scored: the learning loop stores them
    rejected_local: ModelResponse | None = None  # a local answer that failed verification
    streaming_from: str | None = None  # the model whose text a stream is sending
    frontier: tuple[Backend, ...] | None = None  # `frontier_order`, once worked out

    def sending(self, backend: Backend, started: float, purpose: str) -> _Sending:
        """Mark a model call in flight for the block; the block may end it early with the
        callable it gets (a stream's final chunk). A failure ends it; cancellation or an early
        close leaves it marked, so the abandoned request's ledger row shows the call."""
        return _Sending(self.in_flight, (backend, started, purpose))

    def frontier_order(
        self, backends: Callable[[Policy], tuple[Backend, ...]]
    ) -> tuple[Backend, ...]:
        """The frontier backends the request's policy allows, in the order its task rules
        prefer, before its budget has its say (worked out once per request)."""
        if self.frontier is None:
            self.frontier = _frontier_order(self.request, backends)
        return self.frontier


class _Sending:
    """`_Progress.sending`'s context manager: a plain class, not `@contextmanager`, since every
    model call enters one (a generator, its wrapper and a closure per call otherwise)."""

    __slots__ = ("_entry", "_in_flight")

    def __init__(
        self, in_flight: list[tuple[Backend, float, str]], entry: tuple[Backend, float, str]
    ) -> None:
        self._in_flight, self._entry = in_flight, entry

    def __enter__(self) -> Callable[[], None]:
        self._in_flight.append(self._entry)
        return self.answered

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        # Cancellation (BaseException) and an early close (GeneratorExit) leave the mark.
        if exc_type is None or issubclass(exc_type, Exception):
            self.answered()

    def answered(self) -> None:
        if self._entry in self._in_flight:
            self._in_flight.remove(self._entry)


@dataclass(frozen=True, slots=True)
class _Step:
    backend: Backend
    escalation: str | None  # why this backend is tried, when it is not the first choice


class Pipeline:
    def __init__(self, seams: Seams) -> None:
        self.seams = seams
        self._guards = Guards(seams.clock)  # per-backend retry budget and circuit breaker
        self._ledger_writer = seams.ledger_writer

    async def run(self, request: RoutedRequest) -> Completion:
        with self.seams.telemetry.request(request, request.policy) as trace:
            progress = await self._start(request, trace)
            try:
                answer, step = await self._call(progress, self._plan(progress))
                answer, step = await self._verify_and_escalate(progress, answer, step)
            except RouterError as exc:
                await self._finish(self._outcome(progress, None, None, error=exc), trace, progress)
                raise
            except BaseException as exc:  # cancelled (the caller went away) or a bug
                await self._abandon(progress, exc)
                raise
            outcome = self._outcome(progress, answer, step)
            record = await self._finish(outcome, trace, progress)
            self._hand_to_learning(outcome, record, progress)
            return self._completion(record, outcome, progress)

    # -- steps -------------------------------------------------------------------------------

    async def _start(self, request: RoutedRequest, trace: RequestTrace) -> _Progress:
        clock, policy = self.seams.clock, request.policy
        started = clock.monotonic()
        by_caller = self._pinned(request)  # a request pinned to one model by name
        budget = await self._budget(request)
        classifier = pinned(self.seams.classifier)  # one artefact for the whole request
        with trace.stage("router.score"):
            decision, features = (
                (by_caller, None)
                if by_caller
                else decide_with_features(request, policy, classifier, budget.pacing)
            )
        deadline = Deadline(clock, policy.retries.deadline_s)
        progress = _Progress(
            request, decision, deadline, started, trace, budget=budget, features=features
        )
        if decision.score is not None and decision.rule != "token-count":
            progress.artefact_version = version_of(classifier)
        await self._reserve_first(progress)
        trace.set_decision(progress.decision)
        return progress

    def _pinned(self, request: RoutedRequest) -> Decision | None:
        """The decision for a request the caller pinned to a model by name (None: route it).
        Pinning bypasses scoring only: budgets and privacy still hold."""
        name = request.model
        if name is None:
            return None
        reason = f"pinned by the caller to {name}"
        if name == self.seams.local.model:
            return Decision("local", "pinned", None, None, reason)
        names = [b.model for b in self.seams.frontier_for(request.policy)]
        if name not in names:
            known = ", ".join(["auto", self.seams.local.model, *names])
            raise UnknownModelError(f"model {name!r} is not configured; use one of: {known}")
        if request.sensitive:
            raise SensitiveDataError(
                f"the request is sensitive, so it may only use the local model; it cannot be "
                f"pinned to {name}. Use model 'auto' or {self.seams.local.model!r}"
            )
        return Decision("frontier", "pinned", None, None, reason)

    async def _budget(self, request: RoutedRequest) -> BudgetGuard:
        """The request's budget, assessed: how far its caps have burned (see router/budget)."""
        seams = self.seams
        return await open_guard(
            seams.budget, request, seams.clock.now(), seams.prices, seams.telemetry
        )

    async def _reserve_first(self, progress: _Progress) -> None:
        """A frontier-first request reserves its maximum cost now; refused, it stays local."""
        budget, frontier = progress.budget, self._frontier(progress)
        if budget is None or progress.decision.tier != "frontier" or not frontier:
            return
        if not await budget.reserve(frontier[0].model):
            progress.decision = budget.refused(progress.decision)

    def _plan(self, progress: _Progress) -> list[_Step]:
        """Backends in the order to try them: the decided tier first, then allowed fallbacks."""
        request = progress.request
        local = [_Step(self.seams.local, None)]
        if request.sensitive:
            return local
        frontier = self._frontier(progress)
        if request.model not in (None, self.seams.local.model):
            return self._pinned_plan(progress, frontier)
        if progress.decision.tier == "local":
            if not request.policy.routing.escalate_when_local_down:
                return local
            return local + [_Step(b, "local-failed") for b in frontier]
        first, *rest = frontier or (self.seams.local,)
        return [_Step(first, None)] + [_Step(b, "frontier-fallback") for b in rest]

    @staticmethod
    def _pinned_plan(progress: _Progress, frontier: tuple[Backend, ...]) -> list[_Step]:
        """A request pinned to a frontier model calls that model or nothing: when its budget
        refuses the call, it fails rather than being answered by another model."""
        if progress.decision.tier == "frontier" and frontier:
            return [_Step(frontier[0], None)]
        budget = progress.budget
        why = (budget and (budget.refusal or budget.pacing.reason)) or "budget exhausted"
        raise BudgetExceededError(
            f"{why}; the request is pinned to {progress.request.model}, so it was not answered "
            "by another model. Use model 'auto' to let the router keep it local"
        )

    async def _call(
        self, progress: _Progress, steps: Sequence[_Step]
    ) -> tuple[ModelResponse, _Step]:
        """The first answer from `steps`, each tried with retries; every failure is noted."""
        for step in steps:
            try:
                return await self._call_with_retries(progress, step.backend), step
            except BackendError as exc:
                progress.failures.append(AttemptFailure(exc.model, exc.provider, exc))
            except DeadlineExceededError as exc:
                b = step.backend
                progress.failures.append(AttemptFailure(b.model, b.provider, exc))
                break
        raise self._exhausted(progress)

    async def _call_with_retries(
        self,
        progress: _Progress,
        backend: Backend,
        asked: ModelRequest | None = None,
        purpose: str = "answer",
    ) -> ModelResponse:
        """One backend, retried on transient failures within its retry budget, unless its
        breaker is open; `asked` overrides the request's own messages (verifiers ask the local
        model their own questions)."""
        guard = self._guard(progress, backend)
        # A partial, not a closure: one object per call rather than a function and its cells
        attempt = partial(
            self._attempt, progress, backend, asked=asked, purpose=purpose, guard=guard
        )
        policy = progress.request.policy
        return await call_with_retries(
            attempt,
            retries=policy.retries,
            deadline=progress.deadline,
            clock=self.seams.clock,
            budget=guard.budget,
        )

    async def _attempt(
        self,
        progress: _Progress,
        backend: Backend,
        timeout_s: float,
        *,
        asked: ModelRequest | None,
        purpose: str,
        guard: BackendGuard,
    ) -> ModelResponse:
        """One call to `backend` within `timeout_s` (`_call_with_retries` retries it)."""
        await warm(backend)  # a first call's imports are not the model's latency
        started = self.seams.clock.monotonic()
        if not guard.breaker.allow():
            raise self._skipped(progress, backend, purpose)
        model_request = self._model_request(progress, timeout_s, asked, backend)
        try:
            with (
                guard.breaker.watching(),
                progress.trace.attempt(backend, model_request) as t,
                progress.sending(backend, started, purpose),
            ):
                response = await backend.complete(model_request)
                t.set_response(response)
            response = self._restored(progress, backend, response)
        except BackendError as exc:
            self._note_failure(progress, backend, exc, started, purpose)
            raise
        elapsed, prices = self._ms_since(started), self.seams.prices
        succeeded = attempt_succeeded(
            backend, response, elapsed, prices, purpose, sent=model_request
        )
        progress.attempts.append(succeeded)
        return response

    def _guard(self, progress: _Progress, backend: Backend) -> BackendGuard:
        retries = progress.request.policy.retries
        return self._guards.for_backend(
            backend,
            ratio=retries.retry_budget,
            failures=retries.breaker_failures,
            cooldown_s=retries.breaker_cooldown_s,
        )

    def _skipped(self, progress: _Progress, backend: Backend, purpose: str) -> CircuitOpenError:
        """The backend's breaker is open: no call; a zero-cost "rejected" attempt says why."""
        exc = CircuitOpenError(
            f"{backend.provider}:{backend.model} is skipped: its circuit breaker opened after "
            "repeated failures; it is tried again after retries.breaker_cooldown_s",
            model=backend.model,
            provider=backend.provider,
        )
        failed = attempt_failed(backend, exc, 0.0, self.seams.prices, purpose)
        progress.attempts.append(replace(failed, outcome="rejected"))
        log.info("breaker open: provider=%s model=%s skipped", backend.provider, backend.model)
        return exc

    async def _verify_and_escalate(
        self, progress: _Progress, answer: ModelResponse, step: _Step
    ) -> tuple[ModelResponse, _Step]:
        """Check a local answer; when it falls short, ask the frontier models instead.

        A sensitive request never escalates: it keeps its local answer, marked failed, or fails
        closed, as the policy says (`_sensitive_failed`). When every frontier model fails too,
        the local answer stands, marked failed, rather than failing the request.
        """
        if not await self._verify(progress, answer, step):
            return answer, step
        if progress.request.sensitive:
            self._sensitive_failed(progress)
            return answer, step
        escalation = [_Step(b, "verification-failed") for b in self._frontier(progress)]
        if not escalation:
            return answer, step
        try:
            return await self._call(progress, escalation)
        except RouterError:
            return answer, step

    async def _verify(self, progress: _Progress, answer: ModelResponse, step: _Step) -> bool:
        """Run the verifiers on a local answer; True when it should be escalated."""
        verifier = self._verifier_for(progress.request)
        if verifier is None or step.backend.tier != "local":
            return False
        from router.verify import VerifyContext, run_verifiers  # noqa: PLC0415

        budget = min(progress.request.policy.verify_budget_s, progress.deadline.check())

        async def ask_local(asked: ModelRequest) -> ModelResponse:
            return await self._call_with_retries(progress, self.seams.local, asked, "verify")

        context = VerifyContext.from_request(
            progress.request, answer, call_local=ask_local, deadline_s=budget
        )
        with progress.trace.stage("router.verify"):
            result = await run_verifiers(verifier, context, budget_s=budget)
        progress.verification = result
        failed = not result.accepted(fail_open=True)
        progress.rejected_local = answer if failed else None
        return failed

    def _verifier_for(self, request: RoutedRequest) -> Verifier | None:
        """The router's verifiers, the request's own, and the tool-call check when it offers
        tools (a local tool call whose arguments do not fit the tool's schema escalates)."""
        extra = request.verifiers
        if request.tools:
            from router.verify import valid_tool_calls  # noqa: PLC0415

            extra = (valid_tool_calls(), *extra)
        if not extra:
            return self.seams.verifier
        from router.verify import AllOf, as_verifier  # noqa: PLC0415

        parts = [v for v in (self.seams.verifier,) if v is not None]
        return AllOf(*parts, *(as_verifier(v) for v in extra))

    def _frontier(self, progress: _Progress) -> tuple[Backend, ...]:
        """The frontier backends the request's policy allows, in the order its task rules prefer."""
        return guarded(progress.frontier_order(self.seams.frontier_for), progress.budget)

    @staticmethod
    def _restored(progress: _Progress, backend: Backend, response: ModelResponse) -> ModelResponse:
        """Put redacted values back into a frontier answer that repeats their placeholders."""
        mapping = progress.request.redactions
        if not mapping or backend.tier != "frontier":
            return response
        from router._surface import restore_tool_calls  # noqa: PLC0415
        from router.privacy import restore  # noqa: PLC0415

        calls = restore_tool_calls(response.tool_calls, mapping)
        return replace(response, text=restore(response.text, mapping), tool_calls=calls)

    @staticmethod
    def _sensitive_failed(progress: _Progress) -> None:
        """A sensitive request's local answer failed verification: with
        `privacy.on_failed_sensitive: raise`, fail closed; otherwise the answer is returned with
        `verification.status == "failed"`."""
        if progress.request.policy.privacy.on_failed_sensitive != "raise":
            return
        result = progress.verification
        why = "; ".join(result.reasons) if result is not None else "unknown"
        raise SensitiveDataError(
            f"the request is sensitive, so only the local model may answer it, and its answer "
            f"failed verification ({why}); it was not sent to a frontier model. To get such "
            "answers back marked failed instead, set privacy.on_failed_sensitive: return",
            verification=result,
        )

    def _exhausted(self, progress: _Progress) -> RouterError:
        if progress.request.sensitive:
            names = "; ".join(f.describe() for f in progress.failures)
            return SensitiveDataError(
                "the request is sensitive, so it may only use the local model, and that failed "
                f"({names}); start Ollama or retry later: it is never sent to a frontier API"
            )
        return AllAttemptsFailedError(progress.failures, calls=len(progress.attempts))

    def _note_failure(
        self,
        progress: _Progress,
        backend: Backend,
        exc: BackendError,
        started: float,
        purpose: str = "answer",
    ) -> None:
        elapsed = self._ms_since(started)
        progress.attempts.append(attempt_failed(backend, exc, elapsed, self.seams.prices, purpose))
        log.warning(
            "attempt failed: provider=%s model=%s error=%s status=%s",
            backend.provider,
            backend.model,
            type(exc).__name__,
            exc.status_code,
        )

    def _model_request(
        self,
        progress: _Progress,
        timeout_s: float,
        asked: ModelRequest | None = None,
        backend: Backend | None = None,
    ) -> ModelRequest:
        """What a backend is sent: frontier models get the redacted copy when there is one, and
        a `max_tokens` (the policy's limit when the caller set none)."""
        if asked is not None:
            return replace(asked, timeout_s=min(timeout_s, asked.timeout_s or timeout_s))
        request = progress.request
        redacted = request.frontier_messages
        frontier = backend is not None and backend.tier == "frontier"
        use_redacted = redacted is not None and frontier
        cap = request.policy.limits.max_output_tokens if frontier else None
        return ModelRequest(
            messages=redacted if use_redacted and redacted is not None else request.messages,
            max_tokens=request.max_tokens or cap,  # a paid call is never unbounded
            temperature=request.temperature,
            response_format=request.response_format,
            timeout_s=timeout_s,
            top_p=request.top_p,
            stop=_pick(use_redacted, request.frontier_stop, request.stop),
            seed=request.seed,
            tools=_pick(use_redacted, request.frontier_tools, request.tools),
            tool_choice=request.tool_choice,
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
            verification=_verification_status(progress.verification, answer),
            escalation_reason=step.escalation if step else None,
            error=error,
            artefact_version=progress.artefact_version,
        )

    async def _finish(
        self, outcome: Outcome, trace: RequestTrace, progress: _Progress
    ) -> RequestRecord:
        """Settle the budget, account for the request, report it to telemetry, and write the
        ledger row."""
        seams = self.seams
        policy = outcome.request.policy
        if progress.budget is not None:
            await progress.budget.settle(outcome.attempts)
            progress.decision = progress.budget.annotate(progress.decision)
        record = build_record(outcome, policy, seams.prices, seams.clock.now())
        # The row is on its way (batched with concurrent requests' rows: group commit) while
        # the outcome goes to telemetry; the caller gets the answer only once it is kept:
        # journaled (nothing to await) or committed. A ledger problem never fails the request.
        written = self._ledger_writer.submit(record) if self._ledger_writer else None
        trace.finish(record)
        if written is not None:
            with trace.stage("router.ledger.write"):
                await written
        return record

    def _hand_to_learning(
        self, outcome: Outcome, record: RequestRecord, progress: _Progress
    ) -> None:
        """Give the answered request to the learning loop, which may keep its features, shadow
        it to the frontier or label its escalation: in the background, after the caller has
        its answer. Returns at once and never fails the request (router/learning)."""
        if self.seams.learning is not None:
            rejected, features = progress.rejected_local, progress.features
            self.seams.learning.observe(
                outcome,
                record,
                rejected,
                self.seams,
                features=features,
                verification=progress.verification,
            )

    async def _abandon(self, progress: _Progress, exc: BaseException) -> None:
        """A request that ends without an outcome settles its budget now rather than holding
        its reservation until the window ends. When the caller went away (cancelled, or closed
        its stream) it is also written to the ledger with the call it had in flight (possibly
        billed, if a frontier call); a bug is not labelled a cancellation."""
        if progress.budget is not None:
            await progress.budget.abandon(progress.attempts)  # counts in-flight calls itself
        if not isinstance(exc, asyncio.CancelledError | GeneratorExit):
            return
        cancelled = RequestCancelledError("the caller went away before the request finished")
        for backend, started, purpose in progress.in_flight:
            elapsed = self._ms_since(started)
            failed = attempt_failed(backend, cancelled, elapsed, self.seams.prices, purpose)
            progress.attempts.append(failed)
        progress.in_flight.clear()
        outcome = self._outcome(progress, None, None, error=cancelled)
        record = build_record(
            outcome, outcome.request.policy, self.seams.prices, self.seams.clock.now()
        )
        if self._ledger_writer is not None:
            await self._ledger_writer.record(record)

    def _completion(
        self, record: RequestRecord, outcome: Outcome, progress: _Progress
    ) -> Completion:
        decision, verification = progress.decision, progress.verification
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
            tool_calls=answer.tool_calls,
            attempts=tuple(_public_attempt(a) for a in record.attempts),
            verification=verification,
            escalation_reason=record.escalation_reason,
        )

    def _ms_since(self, started: float) -> float:
        return (self.seams.clock.monotonic() - started) * 1000.0


def _frontier_order(
    request: RoutedRequest, frontier_for: Callable[[Policy], tuple[Backend, ...]]
) -> tuple[Backend, ...]:
    backends = {b.model: b for b in frontier_for(request.policy)}
    if request.model is not None:  # pinned: that model only (none when pinned local)
        pinned = backends.get(request.model)
        return (pinned,) if pinned else ()
    order = preferred_frontier(request.policy, request.scoring_text)
    chosen = tuple(backends[name] for name in order if name in backends)
    return chosen or tuple(backends.values())


def _pick(redacted: bool, copy: T | None, original: T) -> T:
    """The redacted copy of a field for a frontier call, when there is one."""
    return copy if redacted and copy is not None else original


def ledger_writer(ledger: Ledger | None) -> GroupCommit | None:
    """The group commit for `ledger`'s rows, journaled when the ledger offers a journal that
    keeps its durability promise (`SQLLedger.journal`); one per router, across reloads."""
    if ledger is None:
        return None
    from router.ledger._group import GroupCommit  # noqa: PLC0415 - SQLAlchemy only when recording

    journal = getattr(ledger, "journal", None)
    return GroupCommit(ledger, journal=journal() if callable(journal) else None)


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


def _verification_status(
    result: VerificationResult | None, answer: ModelResponse | None
) -> str | None:
    if result is not None:
        return result.status
    return "skipped" if answer is not None else None
