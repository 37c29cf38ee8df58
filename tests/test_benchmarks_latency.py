"""The latency benchmark (benchmarks/latency.py): its rows, its servers, the router's own cost."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks import latency
from benchmarks._common import Section
from benchmarks._servers import loopback_servers

PROMPTS = [
    "What is 2 + 2?",
    "Write a Python function that merges two sorted lists in linear time.",
    "Summarise the causes of the First World War in three sentences.",
]


async def test_the_parts_of_the_routers_own_cost_add_up_to_its_total(tmp_path: Path) -> None:
    """An instant in-process backend leaves only the router's own CPU; each variant drops one
    more part, so core + telemetry + ledger + learning is the total by construction."""
    own = await latency._own_cost(PROMPTS * 3, 1, tmp_path)
    parts = ("core", "telemetry", "ledger", "learning")
    assert sum(own[p] for p in parts) == pytest.approx(own["total"])
    assert own["core"] > 0
    section = Section("latency")
    latency._own_rows(section, own)
    assert [r.unit for r in section.rows] == ["us"] * 5
    assert all(r.target == "" and r.met is None for r in section.rows)  # explains, no target


def test_the_instant_backend_answers_every_request_with_the_router_recording_it(
    tmp_path: Path,
) -> None:
    router = latency._instant_router(
        f"sqlite:///{tmp_path / 'own.db'}", ledger=True, learning=True, telemetry=True
    )
    try:
        completion = router.complete(PROMPTS[1])
        assert (completion.tier, completion.model) == ("frontier", latency.MODEL)
    finally:
        router.close()


@pytest.mark.parametrize("child", [True, False], ids=["child process", "in process"])
def test_the_loopback_servers_answer_from_a_child_process_or_this_one(child: bool) -> None:
    """Both ways serve both protocols; the child is gone once the block ends."""
    with loopback_servers(latency.KEY, child=child) as urls:
        body = {"model": latency.MODEL, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {latency.KEY}"}
        oai = httpx.post(urls.openai + "/v1/chat/completions", json=body, headers=headers)
        local = {**body, "model": "qwen3.5:9b", "stream": False}
        oll = httpx.post(urls.ollama + "/api/chat", json=local)
        children = _children()
    assert (oai.status_code, oll.status_code) == (200, 200)
    assert oai.json()["choices"][0]["message"]["content"]
    assert len(children) == (1 if child else 0) + len(_children())


def _children() -> list[str]:
    """This process's live child processes (Linux)."""
    pid = os.getpid()
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8").split()
    return [c for c in found if Path(f"/proc/{c}").exists()]


def test_headline_rows_are_the_child_process_servers_and_in_process_rows_are_extra() -> None:
    """Targets are judged on the child-process rows; the in-process repeats carry no target."""
    stats = {"median_ms": 2.0, "p99_ms": 3.0, "per_s": 100.0, "cpu_ms": 1.0}
    results: dict[str, Any] = {key: {"bare": stats, "router": stats} for key in latency.SCENARIOS}
    results["in_process"] = {key: {"bare": stats, "router": stats} for key in latency.IN_PROCESS}
    results["own_cpu_us"] = dict.fromkeys(("total", "core", "telemetry", "ledger", "learning"), 1.0)
    results["in_situ_cpu_us"] = {n: {"own": 1.0, "model_call": 2.0} for n in ("bare", "router")}
    section = Section("latency")
    latency._report(section, results)
    judged = [r.metric for r in section.rows if r.target]
    assert judged == [
        "frontier, concurrency 1: median",
        "frontier, concurrency 32: throughput",
        "local, concurrency 1: median",
    ]
    extra = [r for r in section.rows if latency.IN_PROCESS_LABEL in r.metric]
    assert len(extra) == 7  # median and p99 of three scenarios, throughput at 32
    assert all(r.target == "" and r.met is None for r in extra)


async def test_the_in_situ_rows_split_the_routers_loop_cpu_from_the_model_calls(
    tmp_path: Path,
) -> None:
    """Against real servers: the router's own loop CPU is what is left outside the call."""
    with loopback_servers(latency.KEY, child=False) as urls:
        res = await latency._in_situ(urls, PROMPTS, 1, tmp_path / "l.db")
    assert res["bare"]["own"] == pytest.approx(0.0, abs=200.0)  # only the wrapper's own glue
    assert res["router"]["own"] > 0 and res["router"]["model_call"] > 0
    section = Section("latency")
    latency._in_situ_rows(section, res)
    assert [r.unit for r in section.rows] == ["us", "us"]
