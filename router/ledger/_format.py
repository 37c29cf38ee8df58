"""Render a `Report` as a terminal table, CSV, JSON or HTML.

Money is shown rounded to the cent (ROUND_HALF_EVEN); JSON and CSV also carry the exact sums
(`*_exact`, 10 decimal places) so a script can reconcile without rounding drift.
"""

from __future__ import annotations

import csv
import functools
import html
import io
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from router.ledger._types import cents, exact

if TYPE_CHECKING:
    from router.ledger._report import Report, ReportRow

TIERS = ("local", "frontier")
FORMATS = ("table", "csv", "json", "html")
ESTIMATED_NOTE = "latency p50/p95 estimated from the report rollup's histograms (within 1%)"


def _money(amount: Decimal) -> str:
    return f"{cents(amount):,}"


def _share(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.1f}%"


def _pct(percent: Decimal | None) -> str:
    return "-" if percent is None else f"{cents(percent)}%"


def _ms(row: ReportRow, tier: str) -> str:
    stats = row.latency_of(tier)
    return "-" if stats is None else f"{stats.p50_ms:.0f}/{stats.p95_ms:.0f}"


def _reasons(row: ReportRow) -> str:
    return "; ".join(f"{k}={v}" for k, v in row.escalation_reasons.items())


def row_dict(row: ReportRow) -> dict[str, Any]:
    """One row as JSON-ready data: rounded money as numbers' strings, exact sums alongside."""
    out: dict[str, Any] = {
        "key": row.key,
        "requests": row.requests,
        "local_requests": row.local_requests,
        "local_share": row.local_share,
        "escalated": row.escalated,
        "escalation_rate": row.escalation_rate,
        "escalation_reasons": dict(row.escalation_reasons),
        "verification_failures": row.verification_failures,
        "errors": row.errors,
        "baseline_estimated": row.baseline_estimated,
    }
    for name in ("cost_usd", "baseline_cost_usd", "savings_usd", "local_cost_usd"):
        amount: Decimal = getattr(row, name)
        out[name] = exact(cents(amount))
        out[f"{name}_exact"] = exact(amount)
    pct, per_1k = row.savings_pct, row.cost_per_1k_usd
    out["savings_pct"] = None if pct is None else f"{pct:.2f}"
    out["cost_per_1k_requests_usd"] = None if per_1k is None else exact(cents(per_1k))
    out["latency_ms"] = {
        s.tier: {"count": s.count, "p50": s.p50_ms, "p95": s.p95_ms}
        | ({"estimated": True} if s.estimated else {})
        for s in row.latency
    }
    return out


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "currency": "USD",
        "group_by": report.group_by,
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "rows": [row_dict(r) for r in report.rows],
        "total": row_dict(report.total),
        "learning_spend_usd": {k: exact(v) for k, v in report.learning_spend.items()},
    }


_COLUMNS: tuple[tuple[str, Callable[[ReportRow], str]], ...] = (
    ("requests", lambda r: f"{r.requests:,}"),
    ("local", lambda r: _share(r.local_share)),
    ("escalated", lambda r: _share(r.escalation_rate)),
    ("verify fails", lambda r: f"{r.verification_failures:,}"),
    ("spend $", lambda r: _money(r.cost_usd)),
    ("baseline $", lambda r: _money(r.baseline_cost_usd)),
    ("savings $", lambda r: _money(r.savings_usd)),
    ("savings", lambda r: _pct(r.savings_pct)),
    ("$/1k req", lambda r: "-" if r.cost_per_1k_usd is None else _money(r.cost_per_1k_usd)),
    *((f"{t} p50/p95 ms", functools.partial(_ms, tier=t)) for t in TIERS),
)


def _cells(report: Report) -> tuple[list[str], list[list[str]]]:
    header = [report.group_by or "period", *(name for name, _ in _COLUMNS)]
    body = [[row.key, *(fn(row) for _, fn in _COLUMNS)] for row in (*report.rows, report.total)]
    return header, body


def as_table(report: Report) -> str:
    """Aligned columns for a terminal, the total last, escalation reasons underneath."""
    header, body = _cells(report)
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

    def fmt(cells: Iterable[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    lines = [fmt(header), "  ".join("-" * w for w in widths)]
    lines += [fmt(cells) for cells in body[:-1]]
    if report.rows:
        lines.append("  ".join("-" * w for w in widths))
    lines.append(fmt(body[-1]))
    if report.total.escalation_reasons:
        lines.append(f"escalation reasons: {_reasons(report.total)}")
    if report.total.baseline_estimated:
        lines.append(f"baseline estimated for {report.total.baseline_estimated:,} request(s)")
    if any(s.estimated for s in report.total.latency):
        lines.append(ESTIMATED_NOTE)
    if report.learning_spend:
        lines.append(_learning_line(report))
    return "\n".join(lines) + "\n"


def _learning_line(report: Report) -> str:
    parts = ", ".join(f"{k} ${_money(v)}" for k, v in report.learning_spend.items())
    total = _money(report.learning_spend_usd)
    return f"learning spend: ${total} ({parts}); not in the spend or savings above"


def as_csv(report: Report) -> str:
    """One line per group plus a `total` line; exact sums in the `*_exact` columns."""
    rows = [row_dict(r) for r in (*report.rows, report.total)]
    fields = [k for k in rows[0] if k not in ("escalation_reasons", "latency_ms")]
    fields += ["escalation_reasons"] + [f"{t}_{p}_ms" for t in TIERS for p in ("p50", "p95")]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for data, row in zip(rows, (*report.rows, report.total), strict=True):
        data["escalation_reasons"] = _reasons(row)
        for tier in TIERS:
            stats = row.latency_of(tier)
            data[f"{tier}_p50_ms"] = "" if stats is None else f"{stats.p50_ms:.3f}"
            data[f"{tier}_p95_ms"] = "" if stats is None else f"{stats.p95_ms:.3f}"
        writer.writerow(data)
    return buf.getvalue()


def as_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


def as_html(report: Report) -> str:
    """A self-contained HTML page with the report table."""
    header, body = _cells(report)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>\n" for cells in body
    )
    span = _period(report)
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>cost-router savings</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}"
        "td:first-child{text-align:left}tr:last-child{font-weight:bold}</style></head><body>\n"
        f"<h1>Savings report</h1><p>{html.escape(span)}; amounts in USD, rounded to the cent."
        f"</p>\n<table><thead><tr>{head}</tr></thead><tbody>\n{rows}</tbody></table>\n"
        f"<p>Escalation reasons: {html.escape(_reasons(report.total) or 'none')}</p>\n"
        + (f"<p>{html.escape(_learning_line(report))}</p>\n" if report.learning_spend else "")
        + "</body></html>\n"
    )


def _period(report: Report) -> str:
    since = f"from {report.since.isoformat()}" if report.since else "from the first request"
    until = f"until {report.until.isoformat()} (exclusive)" if report.until else "to the last"
    return f"All requests {since} {until}"


def render(report: Report, fmt: str) -> str:
    renderers = {"table": as_table, "csv": as_csv, "json": as_json, "html": as_html}
    return renderers[fmt](report)
