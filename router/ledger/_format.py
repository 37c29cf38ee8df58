"""Render a `Report` as a terminal table, CSV, JSON or HTML.

Money is shown rounded to the cent (ROUND_HALF_EVEN); an amount that is not zero but rounds to
0.00 is shown as `<0.01` (`>-0.01` if negative), so a row never reads "0.00 spent, 0.00
baseline, 100% saved". A savings % is `-` where there was no baseline spend. JSON and CSV also
carry the exact sums (`*_exact`, 10 decimal places) so a script can reconcile without rounding
drift.
"""

from __future__ import annotations

import csv
import functools
import html
import io
import itertools
import json
from collections import Counter
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
    rounded = cents(amount)
    if amount and not rounded:
        return "<0.01" if amount > 0 else ">-0.01"
    return f"{rounded:,}"


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
        "keys": list(row.keys),
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
        "filters": {name: list(values) for name, values in report.filters.items()},
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
    """Header and lines: one leading column per grouping dimension, the total last. With two
    dimensions, each first-level group of several rows ends with its subtotal."""
    dims = report.dimensions or ("period",)
    header = [*dims, *(name for name, _ in _COLUMNS)]
    body = []
    for first, block in itertools.groupby(report.rows, key=lambda r: r.keys[0]):
        rows = list(block)
        body += [[*row.keys, *_figures(row)] for row in rows]
        if len(dims) == 2 and len(rows) > 1:
            figures = _figures(subtotal(rows))[: -len(TIERS)] + [""] * len(TIERS)
            body.append([first, SUBTOTAL, *figures])
    body.append(["total", *([""] * (len(dims) - 1)), *_figures(report.total)])
    return header, body


def _figures(row: ReportRow) -> list[str]:
    return [fn(row) for _, fn in _COLUMNS]


SUBTOTAL = "subtotal"


def subtotal(rows: list[ReportRow]) -> ReportRow:
    """The exact sums of some rows (no latency: percentiles do not add up)."""
    from router.ledger._report import ReportRow  # noqa: PLC0415 - _report imports us

    def count(name: str) -> int:
        return sum(getattr(r, name) for r in rows)

    def money(name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), Decimal(0))

    reasons: Counter[str] = Counter()
    for row in rows:
        reasons.update(row.escalation_reasons)
    return ReportRow(
        SUBTOTAL,
        requests=count("requests"),
        local_requests=count("local_requests"),
        escalated=count("escalated"),
        verification_failures=count("verification_failures"),
        errors=count("errors"),
        baseline_estimated=count("baseline_estimated"),
        cost_usd=money("cost_usd"),
        baseline_cost_usd=money("baseline_cost_usd"),
        savings_usd=money("savings_usd"),
        local_cost_usd=money("local_cost_usd"),
        escalation_reasons=dict(sorted(reasons.items())),
    )


def as_table(report: Report) -> str:
    """Aligned columns for a terminal, the total last, escalation reasons underneath."""
    header, body = _cells(report)
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

    left = max(1, len(report.dimensions))

    def fmt(cells: Iterable[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [fmt(header), "  ".join("-" * w for w in widths)]
    lines += [fmt(cells) for cells in body[:-1]]
    if report.rows:
        lines.append("  ".join("-" * w for w in widths))
    lines.append(fmt(body[-1]))
    return "\n".join([*lines, *_notes(report)]) + "\n"


def _notes(report: Report) -> list[str]:
    """The lines under the table: filters, reasons, estimated baselines, learning spend."""
    notes = []
    if report.filters:
        notes.append(f"only requests with {_filter_text(report)}")
    if report.total.escalation_reasons:
        notes.append(f"escalation reasons: {_reasons(report.total)}")
    if report.total.baseline_estimated:
        notes.append(f"baseline estimated for {report.total.baseline_estimated:,} request(s)")
    if any(s.estimated for s in report.total.latency):
        notes.append(ESTIMATED_NOTE)
    if report.learning_spend:
        notes.append(_learning_line(report))
    return notes


def _filter_text(report: Report) -> str:
    return "; ".join(f"{name} {' or '.join(values)}" for name, values in report.filters.items())


def _learning_line(report: Report) -> str:
    parts = ", ".join(f"{k} {_dollars(v)}" for k, v in report.learning_spend.items())
    total = _dollars(report.learning_spend_usd)
    return f"learning spend: {total} ({parts}); not in the spend or savings above"


def _dollars(amount: Decimal) -> str:
    """`$1.23`, or `<$0.01` for a positive amount under a cent: `_money` with a dollar sign."""
    text = _money(amount)
    return f"{text[0]}${text[1:]}" if text[0] in "<>" else f"${text}"


def as_csv(report: Report) -> str:
    """One line per group plus a `total` line: a column per grouping dimension after `key`,
    exact sums in the `*_exact` columns."""
    dims = report.dimensions
    lines = [_csv_line(row, dims) for row in (*report.rows, report.total)]
    fields = ["key", *dims, *(k for k in lines[0] if k != "key" and k not in dims)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return buf.getvalue()


def _csv_line(row: ReportRow, dims: tuple[str, ...]) -> dict[str, Any]:
    data = row_dict(row)
    for name in ("keys", "escalation_reasons", "latency_ms"):
        del data[name]
    data.update(zip(dims, row.keys or ("",) * len(dims), strict=True))
    data["escalation_reasons"] = _reasons(row)
    for tier in TIERS:
        stats = row.latency_of(tier)
        data[f"{tier}_p50_ms"] = "" if stats is None else f"{stats.p50_ms:.3f}"
        data[f"{tier}_p95_ms"] = "" if stats is None else f"{stats.p95_ms:.3f}"
    return data


def as_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


_STYLE = (
    "body{font-family:sans-serif;max-width:70em}td,th{padding:2px 8px;text-align:right}"
    "td.k,th.k{text-align:left}tr:last-child{font-weight:bold}dt{font-weight:bold}"
)
DEFINITIONS = (
    (
        "Spend",
        "what every model call cost, at the unit prices applied at the time, failed, retried "
        "and escalated calls included.",
    ),
    (
        "Baseline",
        "what the same requests would have cost sent once to the policy's baseline frontier "
        "model (e.g. GPT-5.4), priced on the prompt's tokens and the output tokens of the "
        "answer given.",
    ),
    (
        "Savings",
        "baseline minus spend (negative when routing cost more); savings % is savings divided "
        "by baseline, shown as - where there was no baseline spend.",
    ),
    (
        "Escalated",
        "the share of requests that tried a cheaper path first (the local model, or an "
        "earlier frontier model) and were passed on to a frontier model; the reasons are "
        "counted below.",
    ),
    ("Local", "the share of requests answered by the local model."),
)


def as_html(report: Report) -> str:
    """A self-contained HTML page: its period and filters, the table, what each figure means,
    and the notes (escalation reasons, estimated baselines, learning spend)."""
    header, body = _cells(report)
    left = max(1, len(report.dimensions))
    head = "".join(_cell("th", h, i < left) for i, h in enumerate(header))
    rows = "".join(
        "<tr>" + "".join(_cell("td", c, i < left) for i, c in enumerate(cells)) + "</tr>\n"
        for cells in body
    )
    terms = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in DEFINITIONS)
    notes = "".join(f"<p>{html.escape(n)}</p>\n" for n in _html_notes(report))
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>cost-router savings</title>"
        f"<style>{_STYLE}</style></head><body>\n<h1>Savings report</h1>\n"
        f"<p>Period: {html.escape(_period(report))}. Amounts in USD, rounded to the cent "
        "(&lt;0.01: not zero, but less than a cent).</p>\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{rows}</tbody></table>\n"
        f"{notes}<h2>What the figures mean</h2>\n<dl>{terms}</dl>\n</body></html>\n"
    )


def _cell(tag: str, text: str, key: bool) -> str:
    return f"<{tag}{' class=k' if key else ''}>{html.escape(text)}</{tag}>"


def _html_notes(report: Report) -> list[str]:
    total = report.total
    notes = [f"Escalation reasons: {_reasons(total) or 'none'}."]
    if total.baseline_estimated:
        notes.append(
            f"Baseline estimated for {total.baseline_estimated:,} of {total.requests:,} "
            "request(s): their baseline uses token counts estimated from the text (tiktoken), "
            "not counts a provider billed."
        )
    if report.learning_spend:
        line = _learning_line(report)
        notes.append(f"{line[:1].upper()}{line[1:]}.")
    return notes


def _period(report: Report) -> str:
    since = f"from {report.since.isoformat()}" if report.since else "from the first request"
    until = f"until {report.until.isoformat()} (exclusive)" if report.until else "to the last"
    span = f"all requests {since} {until}, UTC"
    return f"{span}; only requests with {_filter_text(report)}" if report.filters else span


def render(report: Report, fmt: str) -> str:
    renderers = {"table": as_table, "csv": as_csv, "json": as_json, "html": as_html}
    return renderers[fmt](report)
