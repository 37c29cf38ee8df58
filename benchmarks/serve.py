"""7. The gateway: `router serve` against LiteLLM's proxy, in front of the same loopback backend.

Processes answer on loopback ports, one uvicorn worker each: `router serve` (the shipped default
policy, routing forced to one tier by its threshold: classifier, PII scan, verifiers and a SQLite
ledger row per request all run; on the frontier path a second one on `transport: litellm`, the
router as it was before its openai transport), LiteLLM's proxy (`litellm --config`,
LITELLM_MASTER_KEY set, no database, LITELLM_LOG=ERROR) and the backend they all call
(`benchmarks._fast_backend`: a bare asyncio server, never the limit). A raw asyncio HTTP/1.1
keep-alive client (`benchmarks._loadgen`) drives each in turn: the backend directly, then each
gateway, in rotating order per round.

Scenarios: the local path (the gateways call Ollama's API: the router through the ollama client,
the proxy through litellm's `ollama_chat`) and the frontier path (OpenAI's API: the router
through the openai SDK, the litellm-transport router and the proxy through litellm), each plain
and streamed, at concurrency 1, 32 and 256. Per window: p50/p99 of the end-to-end time, p50 of
the time to the first answer token, throughput. Added latency is a gateway's p50 (p99) minus the
backend's in the same round. Reported: medians over rounds.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose: a benchmark must not pay for another's imports

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import yaml

from benchmarks._common import REPO, Section, Settings, median, percentile
from benchmarks._loadgen import Result, Target, cpu_seconds, run_window

LOCAL, FRONTIER = "qwen3.5:9b", "gpt-5.4"
PROMPT = [{"role": "user", "content": "What is the capital of France?"}]
ROUTER_KEY_ENV = "BENCH_ROUTER_KEY"
CONCURRENCY = (1, 32, 256)
TARGETS = ("direct", "router", "proxy")
FRONTIER_TARGETS = ("direct", "router", "router_litellm", "proxy")
_SETTLE_S = 0.5
_MANY = 32


def run(settings: Settings) -> Section:
    section = Section("serve")
    windows = {
        1: settings.pick(1.0, 2.5),
        32: settings.pick(1.5, 3.0),
        256: settings.pick(2.0, 4.0),
    }
    rounds = settings.pick(1, 3)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        ports = stack.enter_context(_processes(Path(tmp)))
        measured = asyncio.run(_measure(ports, windows, rounds))
    section.details = {
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "rounds": rounds,
        "windows_s": windows,
        "scenarios": measured,
    }
    _rows(section, measured)
    return section


# -- processes -------------------------------------------------------------------------------------


@contextmanager
def _processes(tmp: Path) -> Iterator[dict[str, Any]]:
    """Start the backend, two `router serve` (one per tier) and the proxy; stop them after.
    Returns ports, keys and the gateways' pids (for their CPU time)."""
    backend = _free_port()
    ports: dict[str, Any] = {
        "backend": backend,
        "router_key": "sk-bench-" + secrets.token_hex(16),
        "proxy_key": "sk-" + secrets.token_hex(32),
        "pids": {},
    }
    with ExitStack() as stack:
        command = [sys.executable, "-m", "benchmarks._fast_backend", str(backend)]
        stack.enter_context(_process(command, tmp / "backend.log", {}, None))
        _wait_for(f"http://127.0.0.1:{backend}/api/tags", "the benchmark backend")
        for tier, threshold, transport in _ROUTERS:
            ports[f"router-{tier}"] = port = _free_port()
            policy = _router_policy(tmp, tier, threshold, backend, transport)
            command = [*_ROUTER, "serve", "--policy", str(policy), "--port", str(port)]
            env = {ROUTER_KEY_ENV: ports["router_key"], "XDG_DATA_HOME": str(tmp / f"data-{tier}")}
            ready = f"http://127.0.0.1:{port}/healthz"
            process = stack.enter_context(_process(command, tmp / f"router-{tier}.log", env, ready))
            ports["pids"][f"router-{tier}"] = process.pid
        ports["proxy"] = port = _free_port()
        config = str(_proxy_config(tmp, backend))
        command = [*_PROXY, "--config", config, "--port", str(port), "--num_workers", "1"]
        command += ["--telemetry", "False"]
        env = {
            "LITELLM_MASTER_KEY": ports["proxy_key"],
            "LITELLM_LOG": "ERROR",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        ready = f"http://127.0.0.1:{port}/health/liveliness"
        process = stack.enter_context(_process(command, tmp / "proxy.log", env, ready))
        ports["pids"]["proxy"] = process.pid
        yield ports


_ROUTER = [sys.executable, "-c", "from router.cli import main; main()"]
_ROUTERS = (("local", 1.0, "auto"), ("frontier", 0.0, "auto"), ("frontier-litellm", 0.0, "litellm"))
_PROXY = [sys.executable, "-c", "from litellm_cli.main import proxy_server; proxy_server()"]


def _router_policy(tmp: Path, tier: str, threshold: float, backend: int, transport: str) -> Path:
    policy = {
        "extends": "default",
        "name": f"bench-{tier}",
        "local": {"host": f"http://127.0.0.1:{backend}"},
        "frontier": {
            "models": [
                {
                    "model": FRONTIER,
                    "api_base": f"http://127.0.0.1:{backend}/v1",
                    "api_key": "sk-bench",
                    "transport": transport,
                }
            ]
        },
        "routing": {"threshold": threshold},
        "ledger": {"url": f"sqlite:///{tmp / f'ledger-{tier}.db'}"},
        "gateway": {"keys": [{"env": ROUTER_KEY_ENV, "team": "bench"}], "max_concurrency": 4096},
    }
    path = tmp / f"router-{tier}.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return path


def _proxy_config(tmp: Path, backend: int) -> Path:
    config = {
        "model_list": [
            {
                "model_name": FRONTIER,
                "litellm_params": {
                    "model": f"openai/{FRONTIER}",
                    "api_base": f"http://127.0.0.1:{backend}/v1",
                    "api_key": "sk-bench",
                },
            },
            {
                "model_name": LOCAL,
                "litellm_params": {
                    "model": f"ollama_chat/{LOCAL}",
                    "api_base": f"http://127.0.0.1:{backend}",
                },
            },
        ]
    }
    path = tmp / "proxy.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextmanager
def _process(
    command: list[str], log: Path, env: dict[str, str], ready: str | None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            if ready is not None:
                _wait_for(ready, command[-1], process, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_for(
    url: str, what: str, process: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"{what} exited before it was ready:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} was not ready within 180 s ({url})")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- measuring -------------------------------------------------------------------------------------


def _targets(ports: dict[str, Any], path: str, stream: bool) -> dict[str, Target]:
    model = LOCAL if path == "local" else FRONTIER
    extra: dict[str, Any] = (
        {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    )
    chat = {"messages": PROMPT, **extra}
    if path == "local":
        direct = Target(
            "direct",
            ports["backend"],
            "/api/chat",
            json.dumps({"model": LOCAL, "messages": PROMPT, "stream": stream}).encode(),
        )
    else:
        direct = Target(
            "direct",
            ports["backend"],
            "/v1/chat/completions",
            json.dumps({"model": FRONTIER, **chat}).encode(),
        )
    router = Target(
        "router",
        ports[f"router-{path}"],
        "/v1/chat/completions",
        json.dumps({"model": "auto", **chat}).encode(),
        ports["router_key"],
    )
    proxy = Target(
        "proxy",
        ports["proxy"],
        "/v1/chat/completions",
        json.dumps({"model": model, **chat}).encode(),
        ports["proxy_key"],
    )
    targets = {"direct": direct, "router": router, "proxy": proxy}
    if path == "frontier":
        targets["router_litellm"] = Target(
            "router_litellm",
            ports["router-frontier-litellm"],
            router.path,
            router.body,
            ports["router_key"],
        )
    return targets


async def _measure(ports: dict[str, Any], windows: dict[int, float], rounds: int) -> dict[str, Any]:
    measured: dict[str, Any] = {}
    for path in ("local", "frontier"):
        pids = {"router": ports["pids"][f"router-{path}"], "proxy": ports["pids"]["proxy"]}
        if path == "frontier":
            pids["router_litellm"] = ports["pids"]["router-frontier-litellm"]
        for stream in (False, True):
            targets = _targets(ports, path, stream)
            for target in targets.values():  # warm-up: litellm imports, pools, the classifier
                await run_window(target, 8, 1.0)
            for concurrency in CONCURRENCY:
                name = f"{path} {'streamed' if stream else 'plain'} c={concurrency}"
                print(f"[serve] {name}", file=sys.stderr, flush=True)
                window = windows[concurrency]
                measured[name] = await _scenario(targets, pids, concurrency, window, rounds)
    return measured


async def _scenario(
    targets: dict[str, Target],
    pids: dict[str, int],
    concurrency: int,
    window: float,
    rounds: int,
) -> dict[str, Any]:
    per_round: list[dict[str, dict[str, float]]] = []
    if concurrency > _MANY:  # one round: a proxy draining 256 requests takes long on 2 cores
        rounds = 1
    names = tuple(name for name in (*TARGETS, "router_litellm") if name in targets)
    for number in range(rounds):
        turn = number % len(names)
        order = names[turn:] + names[:turn]  # rotate who goes first
        stats: dict[str, dict[str, float]] = {}
        for name in order:
            await asyncio.sleep(_SETTLE_S)  # let the previous target finish abandoned work
            pid = pids.get(name)
            cpu_before = cpu_seconds(pid) if pid else 0.0
            result = await run_window(targets[name], concurrency, window)
            stats[name] = _stats(result)
            if pid:
                spent = cpu_seconds(pid) - cpu_before
                stats[name]["cpu_ms_per_request"] = spent * 1000 / max(len(result.latencies), 1)
        per_round.append(stats)
    return {name: _summary(per_round, name) for name in names}


def _stats(result: Result) -> dict[str, float]:
    ms = sorted(x * 1000 for x in result.latencies) or [float("nan")]
    first = sorted(x * 1000 for x in result.first_tokens) or [float("nan")]
    return {
        "p50_ms": median(ms),
        "p99_ms": percentile(ms, 0.99),
        "first_token_p50_ms": median(first),
        "throughput": result.throughput,
        "requests": len(result.latencies),
        "errors": result.errors,
    }


def _summary(per_round: list[dict[str, dict[str, float]]], name: str) -> dict[str, float]:
    keys: tuple[str, ...] = ("p50_ms", "p99_ms", "first_token_p50_ms", "throughput")
    if name != "direct":
        keys += ("cpu_ms_per_request",)
    out = {k: median([r[name][k] for r in per_round]) for k in keys}
    out["errors"] = sum(r[name]["errors"] for r in per_round)
    out["requests"] = sum(r[name]["requests"] for r in per_round)
    if name != "direct":
        for k in ("p50_ms", "p99_ms"):
            out[f"added_{k}"] = median([r[name][k] - r["direct"][k] for r in per_round])
    return out


# -- the table -------------------------------------------------------------------------------------


def _rows(section: Section, measured: dict[str, Any]) -> None:
    load = section.details["load_before"][0], section.details["load_after"][0]
    for path in ("local", "frontier"):
        for stream in (False, True):
            kind = f"{path}, {'streamed' if stream else 'plain'}"
            one, busy, many = (
                measured[f"{path} {'streamed' if stream else 'plain'} c={c}"] for c in CONCURRENCY
            )
            _ratio_row(
                section,
                f"{kind}: added latency p50, c=1",
                one,
                "added_p50_ms",
                "ms",
                "<= 0.25x proxy",
                lambda r: r <= 0.25,
                note=f"load {load[0]:.1f}->{load[1]:.1f}",
            )
            _ratio_row(section, f"{kind}: added latency p99, c=1", one, "added_p99_ms", "ms")
            _ratio_row(section, f"{kind}: added latency p50, c=32", busy, "added_p50_ms", "ms")
            _ratio_row(
                section, f"{kind}: gateway CPU per request, c=32", busy, "cpu_ms_per_request", "ms"
            )
            _ratio_row(section, f"{kind}: throughput c=1", one, "throughput", "req/s")
            _ratio_row(
                section,
                f"{kind}: throughput c=32",
                busy,
                "throughput",
                "req/s",
                ">= 3x proxy",
                lambda r: r >= 3.0,
                note=f"backend direct {busy['direct']['throughput']:,.0f} req/s",
            )
            _ratio_row(
                section,
                f"{kind}: throughput c=256",
                many,
                "throughput",
                "req/s",
                note=f"errors: ours {many['router']['errors']}, proxy {many['proxy']['errors']}",
            )
            if stream:
                _ratio_row(
                    section, f"{kind}: first token p50, c=32", busy, "first_token_p50_ms", "ms"
                )
            if path == "frontier":
                _litellm_rows(section, kind, one, busy)


def _litellm_rows(section: Section, kind: str, one: dict[str, Any], busy: dict[str, Any]) -> None:
    """The same figures for the router on `transport: litellm` (the router before the openai
    transport), against the same proxy in the same rounds."""
    rows = [
        ("added latency p50, c=1", one, "added_p50_ms", "ms"),
        ("gateway CPU per request, c=32", busy, "cpu_ms_per_request", "ms"),
        ("throughput c=32", busy, "throughput", "req/s"),
        ("first token p50, c=32", busy, "first_token_p50_ms", "ms"),
    ]
    for metric, scenario, key, unit in rows:
        label = f"{kind}: {metric} (router on transport: litellm)"
        _ratio_row(section, label, scenario, key, unit, ours_name="router_litellm")


def _ratio_row(
    section: Section,
    metric: str,
    scenario: dict[str, Any],
    key: str,
    unit: str,
    target: str = "",
    meets: Any = None,
    note: str = "",
    *,
    ours_name: str = "router",
) -> None:
    ours, theirs = scenario[ours_name][key], scenario["proxy"][key]
    ratio = ours / theirs if theirs else None
    met = meets(ratio) if meets is not None and ratio is not None else None
    section.add(
        metric,
        ours,
        alternative=theirs,
        alt_name="litellm proxy",
        unit=unit,
        ratio=ratio,
        target=target,
        met=met,
        note=note,
    )
