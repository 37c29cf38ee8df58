"""The one table `python -m benchmarks` prints (Markdown, so docs/performance.md can embed it)."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks._common import Row, Section

HEADER = (
    "| benchmark | metric | cost-router | alternative | ours / alt | target | met |\n"
    "|---|---|---:|---:|---:|---|---|"
)


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _line(row: Row) -> str:
    alt = _num(row.alternative, row.unit)
    if row.alt_name and row.alternative is not None:
        alt = f"{alt} ({row.alt_name})"
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
    met = {True: "yes", False: "**no**", None: ""}[row.met]
    metric = f"{row.metric} ({row.note})" if row.note else row.metric
    return (
        f"| {row.bench} | {metric} | {_num(row.ours, row.unit)} | {alt} | {ratio} | "
        f"{row.target} | {met} |"
    )


def format_table(sections: Sequence[Section]) -> str:
    lines = [HEADER]
    for section in sections:
        if "error" in section.details:
            lines.append(f"| {section.name} | FAILED: {section.details['error']} | | | | | |")
        lines.extend(_line(row) for row in section.rows)
    return "\n".join(lines)
