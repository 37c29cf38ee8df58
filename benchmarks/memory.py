"""4. Memory: resident set of a process holding a `Router` after 10,000 requests.

The router (SQLite ledger, tracing SDK, classifier) serves real prompts in a fresh interpreter,
routed by length so about one in ten goes to the loopback frontier server (litellm path) and the
rest to the loopback Ollama server; RSS is read from /proc at 2,000, 5,000 and 10,000 requests
(a fifth of that with --quick). Alternative: a fresh interpreter that only ran `import litellm`.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose: a benchmark must not pay for another's imports

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import Section, Settings, run_python

OURS = """
import asyncio, json, resource
from benchmarks.bench_classifier import load_prompts
from benchmarks.latency import make_router
from router.backends._usage import estimate_tokens

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

prompts = [p[:4000] for p in load_prompts(__import__("pathlib").Path({data!r}), 3000, 2)]
sizes = sorted(estimate_tokens(p) for p in prompts)
router = make_router({oll!r}, {oai!r}, {ledger!r}, frontier=False,
                     token_limit=sizes[int(len(sizes) * 0.9)])
checkpoints = {checkpoints!r}
out = {{}}

async def main():
    done = 0
    async def worker(w):
        nonlocal done
        while done < checkpoints[-1]:
            i = done
            done += 1
            await router.acomplete(prompts[i % len(prompts)])
            if done in checkpoints:
                out[str(done)] = rss_mb()
    await router.acomplete("warm up")
    out["0"] = rss_mb()
    await asyncio.gather(*(worker(w) for w in range(8)))
    await router.aclose()

asyncio.run(main())
out["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
router.close()
print(json.dumps(out))
"""

ALT = """
import json, os, resource
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        rss = int(line.split()[1]) / 1024
print(json.dumps({"rss": rss, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(settings: Settings) -> Section:
    from router.testing import OllamaServer, OpenAIServer

    section = Section("memory")
    total = settings.pick(quick=1000, normal=10_000)
    checkpoints = [total // 5, total // 2, total]
    with (
        tempfile.TemporaryDirectory() as tmp,
        OpenAIServer("sk-bench", keep_alive=True) as oai,
        OllamaServer(keep_alive=True) as oll,
    ):
        code = OURS.format(
            data=str(settings.data),
            oll=oll.url,
            oai=oai.url,
            ledger=f"sqlite:///{Path(tmp) / 'memory.db'}",
            checkpoints=checkpoints,
        )
        ours = run_python(code, timeout=900)
        frontier_requests = sum(1 for r in oai.requests if r.path.endswith("/chat/completions"))
    alt = run_python(ALT)
    section.details = {
        "ours_mb": ours,
        "litellm_only_mb": alt,
        "frontier_requests": frontier_requests,
    }
    _rows(section, ours, alt, checkpoints)
    return section


def _rows(section: Section, ours: dict[str, Any], alt: dict[str, Any], points: list[int]) -> None:
    section.add(
        "RSS after Router() and one local request",
        ours["0"],
        unit="MB",
        note="litellm not loaded yet",
    )
    last = ours[str(points[-1])]
    section.add(
        f"RSS after {points[-1]:,} requests",
        last,
        alternative=alt["rss"],
        alt_name="process that only imported litellm",
        unit="MB",
    )
    first, growth = ours[str(points[0])], last - ours[str(points[0])]
    section.add(
        f"RSS growth {points[0]:,} -> {points[-1]:,} requests",
        growth,
        unit="MB",
        target="< 5% (no leak)",
        met=growth < 0.05 * first,
        note=" / ".join(f"{p:,}: {ours[str(p)]:.0f} MB" for p in points),
    )
