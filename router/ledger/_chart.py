"""A PNG of actual spend against the baseline over time (matplotlib, Agg, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

from router.ledger._report import Report
from router.ledger._types import cents

TIME_GROUPS = ("day", "week", "month")
_MAX_LABELS = 16


def write_chart(report: Report, path: Path) -> None:
    """Plot a time-grouped report: baseline and actual spend per period, savings shaded."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - slow import
    from matplotlib.figure import Figure  # noqa: PLC0415

    if report.group_by not in TIME_GROUPS:
        raise ValueError("the chart needs a report grouped by day, week or month")
    keys = [row.key for row in report.rows]
    spend = [float(cents(row.cost_usd)) for row in report.rows]
    baseline = [float(cents(row.baseline_cost_usd)) for row in report.rows]
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = list(range(len(keys)))
    ax.plot(x, baseline, marker=".", label="baseline (all on the frontier model)")
    ax.plot(x, spend, marker=".", label="actual spend")
    ax.fill_between(x, spend, baseline, alpha=0.2, label="savings")
    step = max(1, len(keys) // _MAX_LABELS)
    ax.set_xticks(x[::step], keys[::step], rotation=45, ha="right")
    ax.set_ylabel("USD")
    total = report.total
    ax.set_title(
        f"Spend vs baseline per {report.group_by}: saved "
        f"${cents(total.savings_usd):,} of ${cents(total.baseline_cost_usd):,}"
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, format="png", dpi=100)
