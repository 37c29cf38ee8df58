"""Quality vs frontier share, with the random and oracle lines. Uses matplotlib's Agg canvas
directly (no pyplot, no global backend switch)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from router.evaluation._data import PairOutcomes
from router.evaluation._metrics import RoutingCurve, routing_curve


def oracle_curve(pair: PairOutcomes) -> RoutingCurve:
    """The best any scorer can do: escalate prompts in order of the frontier model's gain."""
    gain = [f - lo for lo, f in zip(pair.local, pair.frontier, strict=True)]
    return routing_curve(gain, pair.local, pair.frontier)


def plot_curves(
    curves: Mapping[str, RoutingCurve], pair: PairOutcomes, path: Path, title: str
) -> None:
    """Write a PNG of each scorer's curve plus random, oracle and the 95%-of-frontier line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - only for --plot
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(7, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    oracle = oracle_curve(pair)
    q_local, q_frontier = oracle.q_local, oracle.q_frontier
    ax.plot([0, 1], [q_local, q_frontier], linestyle="--", color="grey", label="random")
    ax.plot(oracle.shares, oracle.quality, linestyle=":", color="black", label="oracle")
    for name, curve in curves.items():
        ax.plot(curve.shares, curve.quality, label=name)
    ax.axhline(0.95 * q_frontier, color="red", linewidth=0.8, label="95% of frontier quality")
    ax.set_xlabel(f"share of prompts sent to the frontier model ({pair.frontier_model})")
    ax.set_ylabel("mean quality")
    ax.set_xlim(0, 1)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.savefig(path, format="png")
