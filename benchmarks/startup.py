"""3. Import and start-up, each in a fresh interpreter, against `import litellm`.

Ours: `import router`, `Router(...)` (SQLite ledger, frontier at a loopback server) and the first
routed request (forced to the frontier, so it includes the lazy litellm import). Alternative:
`import litellm` and its first `litellm.completion` to the same loopback server. Runs alternate
ours / alternative, medians of 5 (1 with --quick). Also checks that the report commands
(`router report`, `router ledger verify|flush`, `router db current`) never import litellm.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose: a benchmark must not pay for, or time, another's imports

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import Section, Settings, median, run_python

OURS = """
import json, sys, time
from benchmarks.latency import make_router  # stdlib only at import; router is imported below
t0 = time.perf_counter()
import router
t1 = time.perf_counter()
litellm_on_import = 'litellm' in sys.modules
r = make_router({oll!r}, {oai!r}, {ledger!r}, frontier=True)
t2 = time.perf_counter()
r.complete("What is the capital of France?")
t3 = time.perf_counter()
r.close()
print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "router_ms": (t2 - t1) * 1e3,
    "first_ms": (t3 - t2) * 1e3, "litellm_on_import": litellm_on_import}}))
"""

ALT = """
import json, os, time
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TIKTOKEN_CACHE_DIR", {tok!r})
t0 = time.perf_counter()
import litellm
t1 = time.perf_counter()
litellm.completion(model="gpt-5.4", api_base={oai!r} + "/v1", api_key="sk-bench",
    messages=[{{"role": "user", "content": "What is the capital of France?"}}])
t2 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3}}))
"""

REPORT = """
import json, sys
from router.cli import main
runs = {runs!r}
for args in runs:
    try:
        main(args, standalone_mode=False)
    except SystemExit:
        pass
print()
print(json.dumps({{"litellm_imported": sorted(m for m in sys.modules
    if m == "litellm" or m.startswith("litellm."))[:3]}}))
"""


def _tokenizers() -> str:
    import importlib.util

    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent / "litellm_core_utils" / "tokenizers")


def _report_commands(ledger: str, outbox: str) -> list[list[str]]:
    return [
        ["report", "--ledger", ledger],
        ["report", "--ledger", ledger, "--group-by", "day", "--format", "json"],
        ["ledger", "verify", "--ledger", ledger],
        ["ledger", "flush", "--ledger", ledger, "--outbox", outbox],
        ["db", "current", "--ledger", ledger],
    ]


def run(settings: Settings) -> Section:
    from router.testing import OllamaServer, OpenAIServer

    section = Section("startup")
    reps = settings.pick(quick=1, normal=5)
    ours: list[dict[str, Any]] = []
    alt: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        OpenAIServer("sk-bench") as oai,
        OllamaServer() as oll,
    ):
        ledger = f"sqlite:///{Path(tmp) / 'startup.db'}"
        for _ in range(reps):
            ours.append(run_python(OURS.format(oll=oll.url, oai=oai.url, ledger=ledger)))
            alt.append(run_python(ALT.format(oai=oai.url, tok=_tokenizers())))
        commands = _report_commands(ledger, str(Path(tmp) / "outbox"))
        report = run_python(REPORT.format(runs=commands))
    stats = {k: median([o[k] for o in ours]) for k in ("import_ms", "router_ms", "first_ms")}
    alt_stats = {k: median([a[k] for a in alt]) for k in ("import_ms", "first_ms")}
    section.details = {"repeats": reps, "ours": ours, "litellm": alt, "report_check": report}
    _rows(section, stats, alt_stats, ours, report, commands)
    return section


def _rows(
    section: Section,
    stats: dict[str, float],
    alt: dict[str, float],
    ours: list[dict[str, Any]],
    report: dict[str, Any],
    commands: list[list[str]],
) -> None:
    section.add(
        "import router",
        stats["import_ms"],
        alternative=alt["import_ms"],
        alt_name="import litellm",
        unit="ms",
        target="< 0.25x",
        met=stats["import_ms"] < 0.25 * alt["import_ms"],
        note="LOADS LITELLM" if any(o["litellm_on_import"] for o in ours) else "no litellm",
    )
    section.add("Router() construction", stats["router_ms"], unit="ms")
    total = stats["import_ms"] + stats["router_ms"] + stats["first_ms"]
    section.add(
        "first routed request",
        stats["first_ms"],
        unit="ms",
        note=f"includes the lazy litellm import; bare first call {alt['first_ms']:.0f} ms",
    )
    section.add(
        "import to first answer",
        total,
        alternative=alt["import_ms"] + alt["first_ms"],
        alt_name="import litellm + first call",
        unit="ms",
    )
    names = sorted({" ".join(c[:2]) if c[0] != "report" else "report" for c in commands})
    clean = not report["litellm_imported"]
    section.add(
        "report commands import litellm",
        0.0 if clean else 1.0,
        target="never",
        met=clean,
        note=", ".join(names),
    )
