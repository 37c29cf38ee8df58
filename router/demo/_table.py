"""The demo's final table: what went where and why, spend against the baseline, savings."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.demo._run import DemoSummary

CENT = Decimal("0.01")
SIMULATED_NOTE = (
    "Models are SIMULATED: loopback servers replay answers real small and large models gave to\n"
    "these prompts. Routing, retries, verification and accounting are real. Run with --live to\n"
    "use a real Ollama and real API keys."
)
LIVE_NOTE = "Models are LIVE: your Ollama and your frontier API keys were called."


def usd(value: Decimal) -> str:
    """Dollars rounded half-even to the cent, with thousands separators."""
    return f"${value.quantize(CENT, rounding=ROUND_HALF_EVEN):,}"


def render_table(s: DemoSummary) -> str:
    """The human-readable end of `router demo`."""
    answered = max(1, s.local + s.frontier)
    pct = (s.savings_usd / s.baseline_usd * 100) if s.baseline_usd else Decimal(0)
    lines = [
        "",
        "cost-router demo"
        + (" (simulated models: recorded answers replayed)" if s.simulated else ""),
        "",
        "What went where and why (first requests):",
    ]
    lines += [
        f"  {task[:28]:<28} -> {tier:<8} {model:<26} {why}" for task, tier, model, why in s.examples
    ]
    lines += [
        "",
        f"  requests         {s.requests}",
        f"  answered locally {s.local} ({s.local / answered:.0%})",
        f"  sent to frontier {s.frontier} ({s.frontier / answered:.0%})",
        f"  errors           {s.errors}",
        "  escalations      "
        + (", ".join(f"{k}: {v}" for k, v in s.escalations.items()) or "none"),
        f"  spend            {usd(s.spend_usd)}",
        f"  all-frontier     {usd(s.baseline_usd)}  (every request on the baseline model)",
        f"  saved            {usd(s.savings_usd)} ({pct:.1f}%)",
        f"  quality          {s.quality:.3f} vs {s.frontier_quality:.3f} all-frontier "
        "(recorded scores of the answers given)",
    ]
    if s.ledger_url:
        lines.append(f"  ledger           {s.ledger_url}  (see `router report --ledger ...`)")
    if s.chart:
        lines.append(f"  chart            {s.chart}")
    return "\n".join(lines)


def closing_note(s: DemoSummary) -> str:
    """The last words: whether the models were real."""
    return "\n" + (SIMULATED_NOTE if s.simulated else LIVE_NOTE)
