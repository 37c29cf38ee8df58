"""A PNG of each group's spend and savings against its baseline (matplotlib, Agg, no pyplot).

One stacked bar per row of the report, in its order: actual spend at the bottom, the savings
on top of it up to the baseline, and in red the spend above the baseline if routing cost more.
Bars, not lines: one period, or a grouping that is not time (teams, tiers), still reads.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from router.ledger._report import Report
from router.ledger._types import cents

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TIME_GROUPS = ("day", "week", "month")
_MAX_LABELS = 16
_MIN_SLOTS = 5
SPEND, SAVINGS, OVER = "actual spend", "savings (up to the baseline)", "spend over the baseline"


def write_chart(report: Report, path: Path) -> None:
    """Draw `report` (see `build_chart`) to a PNG at `path`."""
    build_chart(report).savefig(path, format="png", dpi=100)


def build_chart(report: Report) -> Figure:
    """The figure for a grouped report: a bar per group; raises ValueError if not grouped."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - slow import
    from matplotlib.figure import Figure  # noqa: PLC0415

    if not report.dimensions:
        raise ValueError("the chart needs a grouped report, e.g. group_by='day'")
    rows = report.rows
    spend = [_usd(min(r.cost_usd, r.baseline_cost_usd)) for r in rows]
    saved = [_usd(max(r.savings_usd, Decimal(0))) for r in rows]
    over = [_usd(max(-r.savings_usd, Decimal(0))) for r in rows]
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = list(range(len(rows)))
    ax.bar(x, spend, label=SPEND, color="tab:blue")
    ax.bar(x, saved, bottom=spend, label=SAVINGS, color="tab:green", alpha=0.45)
    if any(over):
        ax.bar(
            x,
            over,
            bottom=[s + v for s, v in zip(spend, saved, strict=True)],
            label=OVER,
            color="tab:red",
        )
    step = max(1, len(rows) // _MAX_LABELS)
    labels = [r.key for r in rows]
    ax.set_xticks(x[::step], labels[::step], rotation=45, ha="right", parse_math=False)
    ax.set_ylabel("USD")
    ax.set_title(_title(report), parse_math=False)  # "$" is money here, not maths
    ax.grid(axis="y", alpha=0.3)
    ax.margins(y=0.2)  # room above the tallest bar for the legend
    middle, half = (len(rows) - 1) / 2, max(len(rows), _MIN_SLOTS) / 2
    ax.set_xlim(middle - half, middle + half)  # one or two bars stay bar-wide, centred
    ax.legend(loc="upper right", ncols=3)
    return fig


def _title(report: Report) -> str:
    total = report.total
    per = " and ".join(report.dimensions)
    return (
        f"Spend vs baseline per {per}: saved ${cents(total.savings_usd):,} "
        f"of ${cents(total.baseline_cost_usd):,}"
    )


def _usd(amount: Decimal) -> float:
    return float(amount)
