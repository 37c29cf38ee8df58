"""2. Added latency end to end: `Router.acomplete` against the bare client call it wraps.

Frontier path: the router (classifier on, threshold 0 so every request goes to the frontier,
SQLite ledger recording every request with its default durability, OpenTelemetry SDK tracer and
meter providers with a discarding exporter) against a bare `litellm.acompletion`, both to the
same loopback OpenAI-compatible server (`router.testing.OpenAIServer`). Local path: the router
forced local against a bare `ollama.AsyncClient().chat` to the same loopback Ollama server.

Spans go through a `BatchSpanProcessor`, as the OpenTelemetry docs advise for production (the
headline rows); one extra row repeats frontier concurrency 1 with the `SimpleSpanProcessor`
(spans exported synchronously as each ends), the setup of figures measured before 2026-12-01.

Both run in one event loop, in interleaved rounds (bare then router, order alternating), at
concurrency 1 and 32, on the same real prompts. Per round: median and p99 per request, the
throughput and the process CPU per request (this process only); reported: the median over
rounds. Targets are issue #21's: at most +0.3 ms added at the median (frontier, concurrency 1),
at least 0.9x the bare throughput (frontier, concurrency 32), at most 1.3x the bare median
(local).

The headline rows run the two loopback servers in a child process, as a real Ollama or OpenAI
is: the servers' Python work then does not compete with the caller's event loop and background
threads for one GIL. The target scenarios are repeated with the servers in the benchmark's own
process (rows marked so, no target; how figures before 2026-12-07 were measured). Bare and
router always hit the same servers.

The headline frontier rows pin the router to `transport: litellm`, so both sides make the same
litellm call and the difference is the router's own cost. Two more rows (no target) run the
router on its default `transport: auto`, which sends an OpenAI-protocol model through the openai
SDK (docs/backends.md): what a user of the default policy gets, against the same bare litellm.

Where the router's own time goes: the same router answered by a backend that answers at once,
in process (no network, no client library), so all that is left is the router's own CPU per
request (process CPU: the loop and the threads writing ledger and learning rows), with its
parts switched off one at a time in interleaved rounds: learning, then the ledger, then the
OpenTelemetry SDK. The differences of the medians are the parts' costs; what remains is the
core (validation, privacy scan, scoring, token count, accounting).

Those rows are the router's CPU with warm caches. With a real model client the router's code
runs between litellm's (some 10,000 Python calls a request), which evicts its tables and code
from the CPU caches: two more rows measure the router's own event-loop CPU with the real litellm
backend (the request's loop CPU minus the model call's) and the call's own loop CPU inside the
router against alone.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose: a benchmark must not pay for, or time, another's imports

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks._common import Section, Settings, median, percentile
from benchmarks._servers import Urls, loopback_servers
from benchmarks.bench_classifier import load_prompts

Call = Callable[[str], Awaitable[object]]
MODEL, KEY = "gpt-5.4", "sk-bench"
_LITELLM = "litellm.acompletion"
_STATS = ("median_ms", "p99_ms", "per_s", "cpu_ms")
# Issue #21's targets: frontier added median (concurrency 1), frontier throughput (32), local ratio.
FRONTIER_ADDED_MS, FRONTIER_THROUGHPUT, LOCAL_RATIO = 0.3, 0.90, 1.30


def _providers(*, simple: bool = False) -> dict[str, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Discard(SpanExporter):
        """Exports nowhere, so a long run does not hold every span in memory."""

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    processor = SimpleSpanProcessor if simple else BatchSpanProcessor
    tracer_provider.add_span_processor(processor(Discard()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def make_router(
    ollama_url: str,
    openai_url: str,
    ledger_url: str,
    *,
    frontier: bool,
    token_limit: int = 10**7,
    simple_spans: bool = False,
    transport: str = "litellm",
    frontier_backends: Sequence[Any] | None = None,
) -> Any:
    """All to the frontier (classifier on, threshold 0), or routed by length at `token_limit`;
    `frontier_backends` replace the policy's frontier backends (`Router(frontier=...)`)."""
    from router import Router
    from router.policy import Frontier, FrontierModel, LocalModel, Policy, Routing
    from router.policy._model import Ledger

    routing = (
        Routing(rule="classifier", threshold=0.0)
        if frontier
        else Routing(rule="token-count", token_count_threshold=token_limit)
    )
    policy = Policy(
        local=LocalModel(host=ollama_url),
        frontier=Frontier(
            models=(
                FrontierModel(
                    model=MODEL, api_base=openai_url + "/v1", api_key=KEY, transport=transport
                ),
            ),
            baseline=MODEL,
        ),
        routing=routing,
        ledger=Ledger(url=ledger_url),
    )
    return Router(policy, frontier=frontier_backends, **_providers(simple=simple_spans))


class _Instant:
    """A backend that answers at once, in process: a call costs nothing but the router's own."""

    def __init__(self, model: str, provider: str, tier: str) -> None:
        self.model, self.provider, self.tier = model, provider, tier

    async def complete(self, request: Any) -> Any:
        from router.backends import ModelResponse

        return ModelResponse("An answer of a few words.", self.model, 10, 7, "stop")

    def stream(self, request: Any) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


# What each variant keeps on: (ledger, learning, telemetry SDK); each drops one more part.
_PARTS = {
    "full": (True, True, True),
    "no learning": (True, False, True),
    "no ledger": (False, False, True),
    "core": (False, False, False),
}


def _instant_router(ledger_url: str, *, ledger: bool, learning: bool, telemetry: bool) -> Any:
    from router import Router
    from router.policy import Frontier, FrontierModel, Policy, Routing
    from router.policy._model import Learning, Ledger

    policy = Policy(
        frontier=Frontier(models=(FrontierModel(model=MODEL, api_key=KEY),), baseline=MODEL),
        routing=Routing(rule="classifier", threshold=0.0),
        ledger=Ledger(url=ledger_url, enabled=ledger),
        learning=Learning(enabled=learning),
    )
    local, frontier = (
        _Instant("qwen3.5:9b", "ollama", "local"),
        _Instant(MODEL, "openai", "frontier"),
    )
    providers = _providers() if telemetry else {}
    return Router(policy, local=local, frontier=[frontier], **providers)


async def _own_cpu_us(router: Any, prompts: list[str]) -> float:
    """Process CPU per request, including the rows written after the answers (`aclose` waits
    for them; the router stays usable)."""
    cpu = time.process_time()
    for prompt in prompts:
        await router.acomplete(prompt)
    await router.aclose()
    return (time.process_time() - cpu) / len(prompts) * 1e6


async def _own_cost(prompts: list[str], rounds: int, tmp: Path) -> dict[str, float]:
    """The router's own CPU per request (us) and its parts (differences of the medians)."""
    routers = {
        name: _instant_router(f"sqlite:///{tmp / f'own{i}.db'}", ledger=a, learning=b, telemetry=c)
        for i, (name, (a, b, c)) in enumerate(_PARTS.items())
    }
    try:
        for router in routers.values():
            await _own_cpu_us(router, prompts[:50])  # warm up: imports, the classifier, tiktoken
        per: dict[str, list[float]] = {name: [] for name in routers}
        for r in range(rounds):
            for name in list(routers) if r % 2 == 0 else list(routers)[::-1]:
                per[name].append(await _own_cpu_us(routers[name], prompts))
    finally:
        for router in routers.values():
            router.close()
    cost = {name: median(values) for name, values in per.items()}
    return {
        "total": cost["full"],
        "learning": cost["full"] - cost["no learning"],
        "ledger": cost["no learning"] - cost["no ledger"],
        "telemetry": cost["no ledger"] - cost["core"],
        "core": cost["core"],
    }


async def _measure(call: Call, prompts: list[str], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    queue = iter(prompts)

    async def worker() -> None:
        for prompt in queue:
            start = time.perf_counter()
            await call(prompt)
            latencies.append((time.perf_counter() - start) * 1e3)

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - began
    return {
        "median_ms": median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "per_s": len(latencies) / wall,
        # process CPU (every thread: loop, ledger and learning writers, and the loopback servers
        # when they run in this process) per request: what the request costs, which a busy
        # machine's preemption does not inflate the way it inflates wall-clock times
        "cpu_ms": (time.process_time() - cpu) / len(latencies) * 1e3,
    }


async def _compare(
    pair: dict[str, Call], prompts: list[str], concurrency: int, rounds: int
) -> dict[str, dict[str, float]]:
    names = list(pair)
    for name in names:  # warm up: imports, connection pools, first classifier load
        await _measure(pair[name], prompts[: concurrency * 2], concurrency)
    per_round: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            per_round[name].append(await _measure(pair[name], prompts, concurrency))
    return {n: {k: median([m[k] for m in per_round[n]]) for k in _STATS} for n in names}


class Scenario(NamedTuple):
    """One comparison: the bare client, the router (a key of `_routers`), the concurrency."""

    label: str
    bare: str  # "litellm" or "ollama"
    router: str
    concurrency: int
    target: bool = False  # judged by issue #21 (headline rows only)


SCENARIOS = {
    "frontier_c1": Scenario("frontier, concurrency 1", "litellm", "frontier", 1, target=True),
    "frontier_c32": Scenario("frontier, concurrency 32", "litellm", "frontier", 32, target=True),
    "frontier_c1_simple": Scenario(
        "frontier, concurrency 1, SimpleSpanProcessor", "litellm", "simple", 1
    ),
    "local_c1": Scenario("local, concurrency 1", "ollama", "local", 1, target=True),
    "frontier_sdk_c1": Scenario(
        "frontier, default transport (openai SDK), concurrency 1", "litellm", "sdk", 1
    ),
    "frontier_sdk_c32": Scenario(
        "frontier, default transport (openai SDK), concurrency 32", "litellm", "sdk", 32
    ),
}
# Repeated with the servers in the benchmark's own process (extra rows, no target).
IN_PROCESS = ("frontier_c1", "frontier_c32", "local_c1")
IN_PROCESS_LABEL = " (servers in the benchmark's process)"
_ALT = {"litellm": _LITELLM, "ollama": "ollama AsyncClient.chat"}


def _bare_calls(urls: Urls) -> dict[str, Call]:
    """The calls a user would make instead of the router, to the same servers."""
    import ollama

    from router._offline import litellm as load_litellm

    litellm, client = load_litellm(), ollama.AsyncClient(host=urls.ollama)

    async def bare_litellm(prompt: str) -> object:
        messages = [{"role": "user", "content": prompt}]
        return await litellm.acompletion(
            model=MODEL, messages=messages, api_base=urls.openai + "/v1", api_key=KEY
        )

    async def bare_ollama(prompt: str) -> object:
        return await client.chat("qwen3.5:9b", [{"role": "user", "content": prompt}])

    return {"litellm": bare_litellm, "ollama": bare_ollama}


def _routers(urls: Urls, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True, exist_ok=True)
    kinds: dict[str, dict[str, Any]] = {
        "frontier": {"frontier": True},
        "local": {"frontier": False},
        "simple": {"frontier": True, "simple_spans": True},
        "sdk": {"frontier": True, "transport": "auto"},
    }
    return {
        name: make_router(urls.ollama, urls.openai, f"sqlite:///{tmp / name}.db", **kw)
        for name, kw in kinds.items()
    }


async def _against(
    urls: Urls, keys: Sequence[str], prompts: list[str], rounds: int, tmp: Path
) -> dict[str, Any]:
    """Each scenario of `keys`, bare and router alternating, against the servers at `urls`."""
    bare, routers = _bare_calls(urls), _routers(urls, tmp)
    try:
        return {
            key: await _compare(
                {"bare": bare[s.bare], "router": routers[s.router].acomplete},
                prompts,
                s.concurrency,
                rounds,
            )
            for key, s in ((k, SCENARIOS[k]) for k in keys)
        }
    finally:
        for router in routers.values():
            await router.aclose()
            router.close()


async def _scenarios(settings: Settings, prompts: list[str], tmp: Path) -> dict[str, Any]:
    rounds = settings.pick(quick=2, normal=5)
    with loopback_servers(KEY, child=True) as urls:
        out = await _against(urls, list(SCENARIOS), prompts, rounds, tmp / "child")
        out["in_situ_cpu_us"] = await _in_situ(urls, prompts, rounds, tmp / "in_situ.db")
    with loopback_servers(KEY, child=False) as urls:
        out["in_process"] = await _against(urls, IN_PROCESS, prompts, rounds, tmp / "in")
    out["own_cpu_us"] = await _own_cost(prompts, rounds, tmp)
    return out


def run(settings: Settings) -> Section:
    section = Section("latency")
    n = settings.pick(quick=40, normal=200)
    prompts = [p[:4000] for p in load_prompts(settings.data, n, seed=1)]
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(_scenarios(settings, prompts, Path(tmp)))
    section.details = {"requests_per_round": n, "servers": "child process", **results}
    _report(section, results)
    return section


def _report(section: Section, results: dict[str, Any]) -> None:
    """Headline rows (servers in a child process), the in-process repeats, the breakdown."""
    for key, scenario in SCENARIOS.items():
        _rows(section, results[key], scenario)
    for key in IN_PROCESS:
        label = SCENARIOS[key].label + IN_PROCESS_LABEL
        _rows(
            section, results["in_process"][key], SCENARIOS[key]._replace(label=label, target=False)
        )
    _own_rows(section, results["own_cpu_us"])
    _in_situ_rows(section, results["in_situ_cpu_us"])


class _LoopCpu:
    """Wraps a backend and sums the calling thread's CPU spent inside its calls."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.cpu_s = backend, 0.0
        self.model, self.provider, self.tier = backend.model, backend.provider, backend.tier

    async def complete(self, request: Any) -> Any:
        start = time.thread_time()
        try:
            return await self.backend.complete(request)
        finally:
            self.cpu_s += time.thread_time() - start

    def stream(self, request: Any) -> Any:
        raise NotImplementedError

    async def warm_up(self) -> None:
        await self.backend.warm_up()

    async def aclose(self) -> None:
        await self.backend.aclose()


async def _loop_cpu_us(call: Call, timed: _LoopCpu, prompts: list[str]) -> dict[str, float]:
    """Event-loop CPU per request (us): all of it, and the part inside the model call."""
    total, timed.cpu_s = 0.0, 0.0
    for prompt in prompts:
        start = time.thread_time()
        await call(prompt)
        total += time.thread_time() - start
    inside = timed.cpu_s / len(prompts) * 1e6
    return {"own": total / len(prompts) * 1e6 - inside, "model_call": inside}


async def _in_situ(urls: Urls, prompts: list[str], rounds: int, tmp: Path) -> dict[str, Any]:
    """The router's own event-loop CPU with the real litellm backend (the request's loop CPU
    minus the call's), and the call's own loop CPU inside the router and bare."""
    from router.backends import LiteLLMBackend, ModelRequest

    def timed() -> _LoopCpu:
        return _LoopCpu(LiteLLMBackend(MODEL, api_base=urls.openai + "/v1", api_key=KEY))

    bare, routed = timed(), timed()
    ledger = f"sqlite:///{tmp}"
    router = make_router(
        urls.ollama, urls.openai, ledger, frontier=True, frontier_backends=[routed]
    )

    async def call_bare(prompt: str) -> object:
        return await bare.complete(ModelRequest(messages=({"role": "user", "content": prompt},)))

    pair = {"bare": (call_bare, bare), "router": (router.acomplete, routed)}
    try:
        per = await _alternate(pair, prompts, rounds)
    finally:
        await router.aclose()
        router.close()
    return {n: {k: median([m[k] for m in per[n]]) for k in per[n][0]} for n in per}


async def _alternate(
    pair: dict[str, tuple[Call, _LoopCpu]], prompts: list[str], rounds: int
) -> dict[str, list[dict[str, float]]]:
    for call, timed in pair.values():  # warm up
        await _loop_cpu_us(call, timed, prompts[:20])
    per: dict[str, list[dict[str, float]]] = {name: [] for name in pair}
    for r in range(rounds):
        for name in list(pair) if r % 2 == 0 else list(pair)[::-1]:
            per[name].append(await _loop_cpu_us(*pair[name], prompts))
    return per


def _in_situ_rows(section: Section, res: dict[str, dict[str, float]]) -> None:
    """What the instant-backend rows miss: the router's code runs after litellm's, cold."""
    section.add(
        "router's own event-loop CPU per request, real litellm backend (child-process servers)",
        res["router"]["own"],
        unit="us",
        note="the request's loop CPU minus the model call's; compare the instant-backend rows",
    )
    section.add(
        "the litellm call's own event-loop CPU, inside the router vs bare",
        res["router"]["model_call"],
        alternative=res["bare"]["model_call"],
        alt_name="LiteLLMBackend.complete alone",
        unit="us",
    )


_OWN_PARTS = {
    "total": "all of it",
    "core": "validation, privacy scan, scoring, token count, accounting",
    "telemetry": "OpenTelemetry SDK: spans (batch processor) and metrics",
    "ledger": "journal line, then the background SQLite commit",
    "learning": "hand-off, then the background learning row",
}


def _own_rows(section: Section, own: dict[str, float]) -> None:
    """Where the router's own time goes (instant backend; no target: the parts of the gap)."""
    for part, note in _OWN_PARTS.items():
        section.add(
            f"router's own CPU per request (instant backend): {part}",
            own[part],
            unit="us",
            note=note,
        )


def _rows(section: Section, res: dict[str, dict[str, float]], scenario: Scenario) -> None:
    ours, bare = res["router"], res["bare"]
    label, alt = scenario.label, _ALT[scenario.bare]
    cpu = f"CPU per request {ours['cpu_ms']:.2f} vs {bare['cpu_ms']:.2f} ms"
    for stat in ("median_ms", "p99_ms"):
        added = ours[stat] - bare[stat]
        note = f"added {added:+.2f} ms"
        target, met = _median_target(scenario, ours, bare) if stat == "median_ms" else ("", None)
        section.add(
            f"{label}: {stat[:-3]}",
            ours[stat],
            alternative=bare[stat],
            alt_name=alt,
            unit="ms",
            ratio=ours[stat] / bare[stat],
            target=target,
            met=met,
            note=f"{note}; {cpu}" if stat == "median_ms" else note,
        )
    if scenario.bare == "litellm" and scenario.concurrency == 32:
        _throughput_row(section, ours, bare, scenario)


def _throughput_row(
    section: Section, ours: dict[str, float], bare: dict[str, float], scenario: Scenario
) -> None:
    judged = scenario.target
    section.add(
        f"{scenario.label}: throughput",
        ours["per_s"],
        alternative=bare["per_s"],
        alt_name=_ALT[scenario.bare],
        unit="req/s",
        ratio=ours["per_s"] / bare["per_s"],
        target=f">= {FRONTIER_THROUGHPUT:.2f}x bare" if judged else "",
        met=ours["per_s"] >= FRONTIER_THROUGHPUT * bare["per_s"] if judged else None,
    )


def _median_target(
    scenario: Scenario, ours: dict[str, float], bare: dict[str, float]
) -> tuple[str, bool | None]:
    """The issue #21 target a headline row's median is judged by (none for the other rows)."""
    if not scenario.target or scenario.concurrency != 1:
        return "", None
    if scenario.bare == "litellm":
        added = ours["median_ms"] - bare["median_ms"]
        return f"<= +{FRONTIER_ADDED_MS} ms added", added <= FRONTIER_ADDED_MS
    return f"<= {LOCAL_RATIO:.2f}x bare", ours["median_ms"] <= LOCAL_RATIO * bare["median_ms"]
