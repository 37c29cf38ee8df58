"""The demo's savings chart: cumulative spend against the all-frontier baseline, and why.

matplotlib is imported here only (Agg canvas, no pyplot state), so `router demo --json
--no-chart` and `import router` never pay for it.
"""

from __future__ import annotations

from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router.demo._table import usd

if TYPE_CHECKING:
    from router.demo._run import DemoSummary

_BASELINE = "#c0392b"
_SPEND = "#1e8449"
_LOCAL = "#1e8449"
_FRONTIER = "#2e86c1"


def write_demo_chart(summary: DemoSummary, path: Path) -> Path:
    """Write the PNG to `path` (parents created) and return it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - slow import
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(11, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    _spend_panel(left, summary)
    _where_panel(right, summary)
    kind = "simulated models (recorded answers replayed)" if summary.simulated else "live models"
    fig.suptitle(f"cost-router demo: {summary.requests} requests on {kind}", fontsize=13)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    return path


def _spend_panel(ax: Any, summary: DemoSummary) -> None:
    spend = list(accumulate(float(cost) for cost, _ in summary.per_request))
    baseline = list(accumulate(float(base) for _, base in summary.per_request))
    x = list(range(1, len(spend) + 1))
    ax.plot(x, baseline, color=_BASELINE, lw=2, label="all on the frontier model (baseline)")
    ax.plot(x, spend, color=_SPEND, lw=2, label="routed by cost-router")
    ax.fill_between(x, spend, baseline, color=_SPEND, alpha=0.15, label="saved")
    saved, base = summary.savings_usd, summary.baseline_usd
    pct = float(saved / base * 100) if base else 0.0
    # "\\$": a bare "$" starts matplotlib mathtext.
    title = f"Saved {usd(saved)} of {usd(base)} ({pct:.0f}%)".replace("$", r"\$")
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("requests routed")
    ax.set_ylabel("cumulative spend (USD)")
    ax.set_xlim(1, max(2, len(x)))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")


def _where_panel(ax: Any, summary: DemoSummary) -> None:
    labels = ["answered locally"]
    counts = [summary.local]
    colors = [_LOCAL]
    escalated = summary.frontier - sum(summary.escalations.values())
    if escalated:
        labels.append("frontier: scored hard")
        counts.append(escalated)
        colors.append(_FRONTIER)
    for reason, count in summary.escalations.most_common():
        labels.append(f"frontier: {reason}"[:40])
        counts.append(count)
        colors.append(_FRONTIER)
    if summary.errors:
        labels.append("failed")
        counts.append(summary.errors)
        colors.append("#7f8c8d")
    bars = ax.barh(labels[::-1], counts[::-1], color=colors[::-1])
    total = max(1, summary.requests)
    ax.bar_label(bars, labels=[f"{n} ({n / total:.0%})" for n in counts[::-1]], padding=3)
    ax.set_title("Where requests went, and why", fontsize=12)
    ax.set_xlabel("requests")
    ax.set_xlim(0, max(counts) * 1.3 + 1)
    ax.grid(axis="x", alpha=0.3)
