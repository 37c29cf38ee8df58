"""The latency benchmark's breakdown of the router's own cost (benchmarks/latency.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import latency
from benchmarks._common import Section

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
