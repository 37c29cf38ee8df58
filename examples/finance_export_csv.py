"""Finance: run some traffic into a ledger, then export spend and savings per team to CSV.

What it shows: every routed request lands in the SQL ledger; `router.ledger.summarize` turns it
into a report grouped by team (or day, week, month, app, model, tier), with exact `Decimal`
money; the CSV is what `router report --group-by team --format csv` prints, and it reconciles
to the cent with the `Completion`s the application saw.

How to run it (no Ollama, no keys, no network: loopback servers replay recorded answers; the
ledger is a throwaway SQLite file):

    .venv/bin/python examples/finance_export_csv.py [OUT.csv]

What it prints: a few columns of the CSV (one line per team plus a total line), where the full
file was written, the equivalent shell command, then "finance export: OK".
"""

from __future__ import annotations

import csv
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from router import Router, load_policy
from router.cli import main as router_cli
from router.demo import simulated_models
from router.ledger import open_ledger, summarize
from router.testing import load_demo_workload

TEAMS = ("support", "research", "marketing")
COLUMNS = ("key", "requests", "local_share", "cost_usd_exact", "baseline_cost_usd_exact")
COLUMNS += ("savings_usd_exact",)


def run_traffic(ledger_url: str, count: int = 30) -> Decimal:
    """Route `count` demo prompts for three teams; return the spend the application saw."""
    prompts = load_demo_workload()[:count]
    ledger = open_ledger(ledger_url)
    with simulated_models(prompts) as models:
        router = Router(models.wire(load_policy("default")), ledger=ledger)
        with router:
            results = [
                router.complete(p.prompt, metadata={"team": TEAMS[i % 3], "app": "export-demo"})
                for i, p in enumerate(prompts)
            ]
    return sum((r.cost_usd for r in results), Decimal(0))


def main(out: Path | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'ledger.db'}"
        seen = run_traffic(url)
        report = summarize(url, group_by="team")
        export = CliRunner().invoke(
            router_cli, ["report", "--ledger", url, "--group-by", "team", "--format", "csv"]
        )
    assert export.exit_code == 0, export.output
    text = export.stdout
    target = out or Path(tempfile.gettempdir()) / "cost-router-savings-by-team.csv"
    target.write_text(text, encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    print(",".join(COLUMNS))
    for row in rows:  # a few of the columns; the file has them all
        print(",".join(row[c] for c in COLUMNS))
    print(f"\nall {len(rows[0])} columns written to {target}")
    print("same as: router report --ledger URL --group-by team --format csv > by-team.csv")
    assert [r["key"] for r in rows] == [*sorted(TEAMS), "total"]
    assert Decimal(rows[-1]["cost_usd_exact"]) == report.total.cost_usd == seen
    print(f"ledger spend ${report.total.cost_usd} == application spend ${seen}")
    print("finance export: OK")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
