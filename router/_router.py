"""`Router`: the public entry point. It builds the default seams and runs the pipeline."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router._clock import Clock, SystemClock
from router._completion import Completion, StreamChunk
from router._loop import LoopThread
from router._offline import tiktoken_encoding
from router._pipeline import Seams, ledger_writer
from router._records import Tier
from router._request import build_request
from router._scoring import Classifier
from router._streaming import StreamingPipeline
from router.backends import Backend, OllamaBackend, frontier_backend
from router.backends._base import warm
from router.budget import BudgetStore, MemoryBudgetStore
from router.policy import FrontierModel, LocalModel, Policy, load_policy
from router.pricing import LocalCostModel, PriceTable, UnitPrice, load_price_table

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from router.learning import FeedbackReceipt, LearningLoop
    from router.ledger import Ledger
    from router.telemetry import Telemetry
    from router.verify import Verifier

_DEFAULT: Any = object()
log = logging.getLogger("router")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """One policy and everything derived from it. Requests capture one snapshot each, so a
    reload is a single reference swap: a request sees the old policy or the new, never a mix."""

    policy: Policy
    pipeline: StreamingPipeline


@dataclass(frozen=True, slots=True)
class _Given:
    """The seams passed to `Router(...)`, kept to rebuild a snapshot on `reload_policy`."""

    classifier: Classifier | None
    ledger: Ledger | None
    clock: Clock
    budget_store: BudgetStore | None
    verifiers: Sequence[Any]
    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None
    judges: Sequence[Any] = ()


class Router:
    """Send each request to the cheapest model that can answer it well.

    Every external system is a seam you may replace: `local` and `frontier` backends, the
    `classifier` (or the path of its artefact, e.g. a `router adapt` DIR), the `ledger` (`None`
    turns recording off), the `budget_store` (where budget burn is kept: by default the
    ledger's database) and the `clock`. `verifiers` (plain callables accepted) check local
    answers on top of the policy's `verify:` section; an answer that fails is escalated to the
    frontier. Traces and metrics
    go to the global OpenTelemetry providers unless `tracer_provider`/`meter_provider` are given
    (with no SDK configured they cost next to nothing). Defaults come from
    the policy (the shipped `default` policy when none is given). Nothing connects until the
    first request. The learning loop (the policy's `learning:` section, docs/learning.md) keeps
    labels in the ledger's database; `judges` (callables `(prompt, local_answer,
    frontier_answer) -> gain | None` accepted) label its comparisons before the policy's.
    """

    def __init__(
        self,
        policy: Policy | str | Path | None = None,
        *,
        local: Backend | None = None,
        frontier: Sequence[Backend] | None = None,
        classifier: Classifier | str | Path | None = _DEFAULT,
        ledger: Ledger | None = _DEFAULT,
        clock: Clock | None = None,
        verifiers: Sequence[Any] = (),
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        budget_store: BudgetStore | None = _DEFAULT,
        judges: Sequence[Any] = (),
    ) -> None:
        first = load_policy(policy)
        self._locals = LocalPool(local)
        self._frontier = FrontierPool(frontier)
        self._given = _Given(
            classifier=_given_classifier(classifier),
            ledger=_default_ledger(first) if ledger is _DEFAULT else ledger,
            clock=clock or SystemClock(),
            budget_store=_default_budget_store(first) if budget_store is _DEFAULT else budget_store,
            verifiers=tuple(verifiers),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            judges=tuple(judges),
        )
        self._learning = _learning_loop(self._given, self._frontier)
        self._ledger_writer = ledger_writer(self._given.ledger)
        self._state = self._snapshot(first)
        self._loop = LoopThread()

    @property
    def policy(self) -> Policy:
        return self._state.policy

    def models(self, team: str | None = None, app: str | None = None) -> dict[str, Tier]:
        """The models a request may pin by name (besides "auto", which routes), with their
        tier, under the effective policy for `team` and `app`: the local model first."""
        state = self._state
        seams = state.pipeline.seams
        frontier = seams.frontier_for(state.policy.for_request(team, app))
        return {seams.local.model: "local", **{b.model: b.tier for b in frontier}}

    def reload_policy(self, policy: Policy | str | Path | None) -> Policy:
        """Switch to another policy (a `Policy`, a path or a shipped name) without restarting.

        The new policy is loaded and checked first: if that fails, the old one stays. Requests
        already routing finish under the policy they started with. The ledger, budget store,
        clock and backends given to `Router(...)` are kept.
        """
        self._state = self._snapshot(load_policy(policy))  # re-reads the promoted artefact
        log.info(
            "policy reloaded: %s version %s", self._state.policy.name, self._state.policy.version
        )
        return self._state.policy

    # -- async API ---------------------------------------------------------------------------

    async def acomplete(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Mapping[str, Any]] | None = None,
        model: str | None = None,
        metadata: Mapping[str, str] | None = None,
        sensitive: bool | None = None,
        max_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        user: str | None = None,
        request_id: str | None = None,
        verifiers: Sequence[Any] | None = None,
        **unknown: Any,
    ) -> Completion:
        """Route one request and return its `Completion`.

        The arguments are OpenAI's chat parameters (docs/request-path.md): `model` is "auto"
        (or None) to route, or a configured model's name to pin the request to it; `tools` and
        `tool_choice` go to both tiers, and the answer's calls come back in
        `Completion.tool_calls`. Anything else raises `InvalidRequestError` before any call.
        """
        state = self._state  # read once: the whole request runs under this snapshot
        request = build_request(
            state.policy,
            prompt=prompt,
            messages=messages,
            metadata=metadata,
            sensitive=sensitive,
            max_tokens=max_tokens,
            temperature=temperature,
            response_format=response_format,
            request_id=request_id,
            unknown=unknown,
            verifiers=verifiers,
            model=model,
            max_completion_tokens=max_completion_tokens,
            top_p=top_p,
            stop=stop,
            seed=seed,
            tools=tools,
            tool_choice=tool_choice,
            user=user,
        )
        return await state.pipeline.run(request)

    async def afeedback(
        self,
        request_id: str,
        *,
        score: float | None = None,
        good: bool | None = None,
        note: str | None = None,
    ) -> FeedbackReceipt:
        """Say how good a routed request's answer was: `score` from 0 (bad) to 1 (good), or
        `good=True/False`. Giving it again replaces it. `note` is stored only under
        `privacy.capture_content`. See docs/learning.md for how it becomes a label."""
        if self._learning is None:
            from router.errors import ConfigError  # noqa: PLC0415

            raise ConfigError(
                "feedback needs the ledger's database; this router has no SQL ledger "
                "(ledger.enabled is false, or Router(ledger=...) is not a SQLLedger)"
            )
        keep = self._state.policy.privacy.capture_content
        if self._ledger_writer is not None:  # the request's row may still be on its way
            await self._ledger_writer.flush()
        return await self._learning.feedback(
            request_id, score=score, good=good, note=note, keep_note=keep
        )

    async def astream(
        self,
        prompt: str | None = None,
        *,
        messages: Sequence[Mapping[str, Any]] | None = None,
        model: str | None = None,
        metadata: Mapping[str, str] | None = None,
        sensitive: bool | None = None,
        max_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        user: str | None = None,
        request_id: str | None = None,
        verifiers: Sequence[Any] | None = None,
        **unknown: Any,
    ) -> AsyncIterator[StreamChunk]:
        """Route one request and yield text as it arrives; the last chunk carries the Completion."""
        state = self._state  # read once: the whole request runs under this snapshot
        request = build_request(
            state.policy,
            prompt=prompt,
            messages=messages,
            metadata=metadata,
            sensitive=sensitive,
            max_tokens=max_tokens,
            temperature=temperature,
            response_format=response_format,
            request_id=request_id,
            unknown=unknown,
            verifiers=verifiers,
            model=model,
            max_completion_tokens=max_completion_tokens,
            top_p=top_p,
            stop=stop,
            seed=seed,
            tools=tools,
            tool_choice=tool_choice,
            user=user,
        )
        async with aclosing(state.pipeline.stream(request)) as chunks:  # closed with this one
            async for chunk in chunks:
                yield chunk

    # -- sync API ----------------------------------------------------------------------------

    def complete(self, prompt: str | None = None, **kwargs: Any) -> Completion:
        """Blocking `acomplete` (runs on the router's own event-loop thread)."""
        return self._loop.run(self.acomplete(prompt, **kwargs))

    def stream(self, prompt: str | None = None, **kwargs: Any) -> Iterator[StreamChunk]:
        """Blocking `astream`: iterate over chunks as they arrive."""
        return self._loop.iterate(self.astream(prompt, **kwargs))

    def feedback(self, request_id: str, **kwargs: Any) -> FeedbackReceipt:
        """Blocking `afeedback`."""
        return self._loop.run(self.afeedback(request_id, **kwargs))

    @property
    def learning(self) -> LearningLoop | None:
        """The learning loop (None without a SQL ledger): its `stats`, `store` and `drain()`."""
        return self._learning

    # -- lifecycle -----------------------------------------------------------------------------

    async def awarm_up(self) -> None:
        """Load now what the first request would otherwise wait for: litellm's import (seconds),
        each backend's client, and tiktoken's tables. Nothing is sent to any model.

        Optional: requests work without it, but the first one waits for these (its attempts'
        latencies never include them). Call it at startup, e.g. in a server's lifespan.
        """
        policy = self._state.policy
        backends = {id(b): b for b in (self._locals(policy.local), *self._frontier_all(policy))}
        await asyncio.gather(*(warm(b) for b in backends.values()))
        await asyncio.to_thread(tiktoken_encoding)  # prompt tokens, for baselines and budgets

    def warm_up(self) -> None:
        """Blocking `awarm_up` (on the router's own event-loop thread, where the sync API's
        requests run)."""
        self._loop.run(self.awarm_up())

    def _frontier_all(self, policy: Policy) -> tuple[Backend, ...]:
        """The frontier backends of the policy and of each of its team and app overrides."""
        found = list(self._frontier(policy))
        for team in policy.teams:
            found += self._frontier(policy.for_request(team=team))
        for app in policy.apps:
            found += self._frontier(policy.for_request(app=app))
        return tuple(found)

    async def aclose(self) -> None:
        """Finish this loop's background work (ledger rows still being gathered, learning)
        and close the backends' connections."""
        if self._ledger_writer is not None:
            await self._ledger_writer.flush()
        if self._learning is not None:  # shadow comparisons still need the backends
            await self._learning.drain()
        for backend in (*self._locals.backends(), *self._frontier.backends()):
            await backend.aclose()

    def close(self) -> None:
        """Release connections and the ledger. Async users: `await aclose()` first."""
        if self._loop.started:
            self._loop.run(self.aclose())
            self._loop.close()
        if self._learning is not None:
            self._learning.close()
        if self._ledger_writer is not None:
            self._ledger_writer.close()  # rows still queued, then the journal
        if self._given.ledger is not None:
            self._given.ledger.close()
        if self._given.budget_store is not None:
            self._given.budget_store.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Router:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        self.close()

    # -- construction --------------------------------------------------------------------------

    def _snapshot(self, policy: Policy) -> _Snapshot:
        """Build everything a policy decides (prices, verifiers, telemetry) into one snapshot."""
        given = self._given
        local = self._locals(policy.local)
        prices = _price_table(policy, local)
        for backend in (local, *self._frontier.fixed):
            prices.unit_price(backend.model)  # fail now, not mid-request, on an unpriced model
        for model in policy.frontier.models:
            prices.unit_price(model.model)
        classifier = given.classifier
        seams = Seams(
            local=local,
            frontier_for=self._frontier,
            classifier=_default_classifier(policy) if classifier is _DEFAULT else classifier,
            ledger=given.ledger,
            clock=given.clock,
            prices=prices,
            telemetry=_telemetry(policy, given.tracer_provider, given.meter_provider),
            budget=given.budget_store,
            learning=self._learning,
            ledger_writer=self._ledger_writer,
        )
        seams = replace(seams, verifier=_verifier(policy, seams, given.verifiers))
        return _Snapshot(policy, StreamingPipeline(seams))


class LocalPool:
    """The local backend per local-model configuration (a reload may change it), or the one
    passed to `Router(local=...)` for every policy."""

    def __init__(self, fixed: Backend | None = None) -> None:
        self._fixed = fixed
        self._built: dict[LocalModel, Backend] = {}

    def __call__(self, cfg: LocalModel) -> Backend:
        if self._fixed is not None:
            return self._fixed
        backend = self._built.get(cfg)
        if backend is None:
            backend = OllamaBackend(
                cfg.model,
                cfg.host,
                connect_timeout_s=cfg.connect_timeout_s,
                read_timeout_s=cfg.read_timeout_s,
            )
            self._built[cfg] = backend
        return backend

    def backends(self) -> tuple[Backend, ...]:
        return (self._fixed,) if self._fixed is not None else tuple(self._built.values())


class FrontierPool:
    """Frontier backends for a (possibly per-team) policy, built once per model configuration.

    Backends passed to `Router(frontier=[...])` are used for every policy instead.
    """

    def __init__(self, fixed: Sequence[Backend] | None = None) -> None:
        self._fixed = tuple(fixed) if fixed is not None else None
        self._built: dict[FrontierModel, Backend] = {}

    def __call__(self, policy: Policy) -> tuple[Backend, ...]:
        if self._fixed is not None:
            return self._fixed
        return tuple(self._backend(m) for m in policy.frontier.models)

    @property
    def fixed(self) -> tuple[Backend, ...]:
        return self._fixed or ()

    def backends(self) -> tuple[Backend, ...]:
        return self._fixed if self._fixed is not None else tuple(self._built.values())

    def _backend(self, config: FrontierModel) -> Backend:
        backend = self._built.get(config)
        if backend is None:
            backend = frontier_backend(config)  # the policy's transport: openai or litellm
            self._built[config] = backend
        return backend


def _price_table(policy: Policy, local: Backend) -> PriceTable:
    overrides = {
        name: UnitPrice(p.input_per_mtok, p.output_per_mtok) for name, p in policy.prices.items()
    }
    cost = policy.local_cost
    local_cost = LocalCostModel(cost.per_mtok_usd, cost.gpu_hour_usd, cost.tokens_per_second)
    return load_price_table(overrides, local_cost, frozenset({local.model}))


def _given_classifier(classifier: Classifier | str | Path | None) -> Classifier | None:
    """A classifier as given, or the artefact at a path (`router adapt` / `router train` DIR)."""
    if isinstance(classifier, str | Path):
        from router.classifier import load_classifier  # noqa: PLC0415

        return load_classifier(classifier)
    return classifier


def _default_classifier(policy: Policy) -> Classifier | None:
    """The shipped classifier; without one, decisions say they used the token-count rule."""
    if policy.routing.rule != "classifier":
        return None
    try:
        module = importlib.import_module("router.classifier")
        load: Callable[[], Classifier] = module.load_classifier
    except (ImportError, AttributeError):
        log.warning("no difficulty classifier is installed; routing by prompt length instead")
        return None
    if not policy.learning.enabled:
        return load()
    from router.learning import promoted_classifier  # noqa: PLC0415

    return promoted_classifier(policy, load())


def _learning_loop(given: _Given, frontier: FrontierPool) -> LearningLoop | None:
    """The learning loop, when there is a SQL database to keep its labels in (the ledger's)."""
    engine = getattr(given.ledger, "engine", None)
    if engine is None:
        return None
    from router.learning import LearningLoop, LearningStore  # noqa: PLC0415

    budget = given.budget_store or MemoryBudgetStore()
    return LearningLoop(
        LearningStore(engine), budget, frontier_for=frontier, clock=given.clock, judges=given.judges
    )


def _default_ledger(policy: Policy) -> Ledger | None:
    if not policy.ledger.enabled:
        return None
    from router.ledger import open_ledger  # noqa: PLC0415 - SQLAlchemy only when recording

    return open_ledger(policy.ledger.url, durability=policy.ledger.durability)


def _default_budget_store(policy: Policy) -> BudgetStore:
    """Budget burn lives in the ledger's database, so every router sharing it shares budgets;
    with recording off, in this process only. Nothing connects until a capped request."""
    if not policy.ledger.enabled:
        return MemoryBudgetStore()
    from router.budget._sql import SqlBudgetStore  # noqa: PLC0415 - SQLAlchemy only when used

    return SqlBudgetStore(policy.ledger.url)


def _telemetry(
    policy: Policy, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None
) -> Telemetry:
    from router.telemetry import Telemetry  # noqa: PLC0415 - OpenTelemetry only when routing

    capture = True if policy.privacy.capture_content else None  # None: the standard env var
    return Telemetry(tracer_provider, meter_provider, capture_content=capture)


def _verifier(policy: Policy, seams: Seams, extra: Sequence[Any]) -> Verifier | None:
    """The policy's `verify:` checks plus `Router(verifiers=...)`, all of which must pass."""
    if not policy.verify and not extra:
        return None
    from router.verify import AllOf, as_verifier, build_verifiers  # noqa: PLC0415

    parts: list[Verifier] = []
    if policy.verify:
        checks: dict[str, Mapping[str, Any] | None] = {str(k): v for k, v in policy.verify.items()}
        parts.append(build_verifiers(checks, scorer=seams.classifier))
    parts.extend(as_verifier(v) for v in extra)
    return parts[0] if len(parts) == 1 else AllOf(*parts)
